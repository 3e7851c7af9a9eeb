#include "evl-test.h"
#include "evloop.h"
int main(void){return 77;}
