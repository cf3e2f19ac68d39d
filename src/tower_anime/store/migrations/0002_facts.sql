-- Facts ("Echo Brain"): subject - predicate - object triples with where they came from.
-- A triple is stored once, so importing the same file twice adds nothing.
CREATE TABLE facts (
    subject   TEXT NOT NULL,
    predicate TEXT NOT NULL,
    object    TEXT NOT NULL,
    source    TEXT NOT NULL,
    created   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,   -- UTC
    PRIMARY KEY (subject, predicate, object)
);
