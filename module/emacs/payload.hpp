// What a completion's payload becomes in Lisp, for `aio-native--drain'.
// The only place that knows the layouts Lisp reads back by position.
#pragma once

#include <emacs-module.h>

#include "../core/completion.hpp"
#include "../core/datum.hpp"
#include "env.hpp"

namespace aio::emacs {

// C's payload as Lisp data: nil for a timer; a unibyte message, or
// (KIND . MESSAGE) with KIND a symbol, for a failure; a response vector
// [STATUS VERSION STATUS-LINE HEADERS BODY URL REDIRECTS TIMINGS DECODED]
// for a finished HTTP transfer; the Lisp form of its Datum for the other
// services (also after KIND for a failure or an event). An event is
// (KIND . DATA): (headers . RESPONSE-VECTOR), (chunk . BYTES), (sse .
// [BYTES EVENT...]) with each EVENT an `aio-sse-event' record
// (aio-sse.el's layout), or (progress . [DOWN TOTAL-DOWN UP TOTAL-UP]),
// a total -1 when unknown. Throws LispExit when Emacs
// cannot make it.
emacs_value completion_payload(Env& env, const Completion& c);

// D as Lisp data of the same shape: nil, an integer, a float, a unibyte
// or multibyte string, a symbol, a vector.
emacs_value datum_value(Env& env, const Datum& d);

}  // namespace aio::emacs
