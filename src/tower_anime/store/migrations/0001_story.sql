-- The story: the character sheet and the episodes -> scenes -> shots -> cast and dialogue,
-- mirroring src/tower_anime/schemas/characters.schema.yaml and episode.schema.yaml column by column.
-- The same text runs on SQLite and PostgreSQL.
--
-- Numbers the schemas type as `number` (voice pitch/speed, LoRA strengths, durations,
-- crossfade lengths, line offsets) are kept as their JSON literal in TEXT: 1 and 1.0 make
-- different job specs, and REAL/NUMERIC columns would turn one into the other on one of the
-- two databases, so a story read back would re-render every voice. NULL means "not given"
-- (the schema default applies).

CREATE TABLE characters (
    id                  TEXT PRIMARY KEY,
    position            INTEGER NOT NULL,          -- order in the character sheet
    name                TEXT NOT NULL,
    description         TEXT NOT NULL,
    palette_hair        TEXT NOT NULL,             -- #RRGGBB
    palette_skin        TEXT NOT NULL,
    palette_outfit      TEXT NOT NULL,
    palette_accent      TEXT NOT NULL,
    lora_file           TEXT,                      -- NULL: no LoRA
    lora_strength_model TEXT,
    lora_strength_clip  TEXT,
    reference_image     TEXT,
    voice_engine        TEXT,                      -- piper | espeak; NULL: backends.voice
    voice_pitch         TEXT,
    voice_speed         TEXT,
    voice_espeak_voice  TEXT
);

CREATE TABLE episodes (
    id    TEXT PRIMARY KEY,
    title TEXT NOT NULL
);

CREATE TABLE scenes (
    episode_id         TEXT NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    position           INTEGER NOT NULL,
    title              TEXT NOT NULL,
    location           TEXT NOT NULL,
    time_of_day        TEXT NOT NULL,
    mood               TEXT NOT NULL,
    music              TEXT,
    music_seed         BIGINT,
    transition         TEXT,
    transition_seconds TEXT,
    PRIMARY KEY (episode_id, id)
);

CREATE TABLE shots (
    episode_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    scene_id       TEXT NOT NULL,
    position       INTEGER NOT NULL,               -- order within its scene
    frames         INTEGER,                        -- exactly one of frames / duration
    duration       TEXT,
    camera_move    TEXT NOT NULL,
    camera_framing TEXT,                           -- NULL: camera written as a bare move
    action         TEXT NOT NULL,
    seed           BIGINT NOT NULL,
    PRIMARY KEY (episode_id, id),
    FOREIGN KEY (episode_id, scene_id) REFERENCES scenes (episode_id, id) ON DELETE CASCADE
);

CREATE TABLE shot_characters (
    episode_id   TEXT NOT NULL,
    shot_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    character_id TEXT NOT NULL REFERENCES characters (id),
    PRIMARY KEY (episode_id, shot_id, position),
    FOREIGN KEY (episode_id, shot_id) REFERENCES shots (episode_id, id) ON DELETE CASCADE
);

CREATE TABLE dialogue_lines (
    episode_id TEXT NOT NULL,
    shot_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    speaker    TEXT NOT NULL REFERENCES characters (id),
    text       TEXT NOT NULL,
    at_seconds TEXT,                               -- NULL: after the previous line
    PRIMARY KEY (episode_id, shot_id, position),
    FOREIGN KEY (episode_id, shot_id) REFERENCES shots (episode_id, id) ON DELETE CASCADE
);

CREATE INDEX shots_by_scene ON shots (episode_id, scene_id, position);

-- Workflow templates (config/workflows/*): named text, kept byte for byte.
CREATE TABLE workflow_templates (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
