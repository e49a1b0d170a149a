"""Identity resolution: which rostered person an LMS actor is.

LMSs name people their own way: xAPI actors by account name or `mbox`, Caliper actors by IRI or
`otherIdentifiers`, Canvas by its user id, login or SIS id, Moodle by its numeric user id. Each
way is a key `kind:value` (`keys`); every roster import indexes every key of every person
(`roster_identity`: sourcedId, SIS `identifier`, `username`, `email` and its xAPI SHA-1, each
`userIds` entry) and leaves out keys two people share. An event's actor keys are tried in order
and the first one the roster knows names the person. An actor nobody matches keeps a stored name
of its own, is counted and listed per integration (`unmatched_actor`), and when a later import
matches it, its events move to the person and the district is recounted.
"""
