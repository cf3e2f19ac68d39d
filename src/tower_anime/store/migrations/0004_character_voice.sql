-- The rest of a character's voice: the id and default emotion a voice service knows it by,
-- and its timbre (formant shift, brightness, warmth) as a JSON object in TEXT, numbers
-- spelled as written (see 0001). NULL: not given.
ALTER TABLE characters ADD COLUMN voice_id TEXT;
ALTER TABLE characters ADD COLUMN voice_emotion TEXT;
ALTER TABLE characters ADD COLUMN voice_timbre TEXT;
