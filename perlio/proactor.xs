/* proactor.xs - Linux::Event proactor packages over libevloop. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

MODULE = Linux::Event::Proactor	PACKAGE = Linux::Event::Proactor

PROTOTYPES: DISABLE
