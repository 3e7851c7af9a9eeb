/* reactor.xs - Linux::Event reactor packages over libevloop. */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

MODULE = Linux::Event::Reactor	PACKAGE = Linux::Event::Reactor

PROTOTYPES: DISABLE
