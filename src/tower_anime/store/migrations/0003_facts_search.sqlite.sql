-- Ranked full-text search on SQLite: an FTS5 index of each fact's words (porter stemming),
-- kept in step with `facts` by triggers. It holds its own copy of the text rather than
-- pointing at facts' implicit rowids, which VACUUM may renumber.
CREATE VIRTUAL TABLE facts_fts USING fts5 (subject, predicate, object, tokenize = 'porter unicode61');

INSERT INTO facts_fts (subject, predicate, object) SELECT subject, predicate, object FROM facts;

CREATE TRIGGER facts_fts_insert AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts (subject, predicate, object) VALUES (new.subject, new.predicate, new.object);
END;

CREATE TRIGGER facts_fts_delete AFTER DELETE ON facts BEGIN
    DELETE FROM facts_fts
     WHERE subject = old.subject AND predicate = old.predicate AND object = old.object;
END;

CREATE TRIGGER facts_fts_update AFTER UPDATE ON facts BEGIN
    DELETE FROM facts_fts
     WHERE subject = old.subject AND predicate = old.predicate AND object = old.object;
    INSERT INTO facts_fts (subject, predicate, object) VALUES (new.subject, new.predicate, new.object);
END;
