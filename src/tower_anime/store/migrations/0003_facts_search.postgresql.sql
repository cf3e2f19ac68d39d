-- Ranked full-text search on PostgreSQL: a stored tsvector (english stemming; the subject
-- weighs most, then the object, then the predicate) with a GIN index.
ALTER TABLE facts ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', subject), 'A') ||
    setweight(to_tsvector('english', object), 'B') ||
    setweight(to_tsvector('english', replace(predicate, '_', ' ')), 'C')
) STORED;

CREATE INDEX facts_search ON facts USING GIN (search);
