-- The story fields 0001 left out, so that a story kept in the database plans exactly as its
-- files do (an import lost them silently: a Japanese line became an English one, a fade or
-- a line's translations were gone). Numbers as their JSON literal, objects as JSON text in
-- the order written (a line's translations order its subtitle tracks), as in 0001 and 0004.
-- NULL: not given.
ALTER TABLE characters ADD COLUMN lang TEXT;
ALTER TABLE characters ADD COLUMN workflow TEXT;
ALTER TABLE episodes ADD COLUMN lang TEXT;
ALTER TABLE episodes ADD COLUMN title_lang TEXT;
ALTER TABLE episodes ADD COLUMN fade_in_seconds TEXT;
ALTER TABLE episodes ADD COLUMN fade_out_seconds TEXT;
ALTER TABLE episodes ADD COLUMN workflow TEXT;
ALTER TABLE scenes ADD COLUMN music_tempo TEXT;
ALTER TABLE shots ADD COLUMN workflow TEXT;
ALTER TABLE dialogue_lines ADD COLUMN lang TEXT;
ALTER TABLE dialogue_lines ADD COLUMN emotion TEXT;
ALTER TABLE dialogue_lines ADD COLUMN subtitles TEXT;
