-- The lines found above a file's header (a title block added when a puskesmas re-saved the export),
-- kept on the file's load row: null when the header is the first line.
alter table ops.file_loads add column if not exists title_lines text[];
