"""Technical error logs of pilots, their `error-logged` events and the recurring-period pattern detector."""
