-- fivetier content tier, migration 0006: bodies compressed with pglz, whatever the server's default.
--
-- why: measured on generated e-mail HTML (bench/content-compression.ts, figures in
-- docs/content.md), pglz stores 20 KB bodies in 0.28 of their size and 200 KB bodies in 0.24,
-- lz4 in 0.35 and 0.30; application-side gzip would save little more on typical bodies (0.24 at
-- 20 KB) and would hide the body from SQL and from dedup. So fivetier adds no compression of its
-- own and pins pglz here, so a server whose default_toast_compression is lz4 stores the same.
-- Applies to values written from now on; existing values keep the method they were written with.
ALTER TABLE content_bodies ALTER COLUMN content_html SET COMPRESSION pglz;
ALTER TABLE content_objects ALTER COLUMN content_html SET COMPRESSION pglz;
ALTER TABLE content_objects ALTER COLUMN content_text SET COMPRESSION pglz;
