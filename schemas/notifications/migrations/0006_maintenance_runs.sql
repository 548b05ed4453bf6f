-- fivetier notifications tier, migration 0006: the last run of each maintenance task.
--
-- One row per task (consistency check, retention, orphan sweep ...), overwritten by each run,
-- so `fivetier status` and the dashboard can say when a task last ran and what it found
-- without keeping a history (the log and the admin events keep that). Platform-wide: no
-- tenant rows, maintenance role only.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

CREATE TABLE public.maintenance_runs (
    task         text PRIMARY KEY CHECK (length(task) BETWEEN 1 AND 100),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    ok           boolean NOT NULL,
    -- counts and a one-line summary; kept small, never personal data
    summary      jsonb NOT NULL DEFAULT '{}'
);

REVOKE ALL ON public.maintenance_runs FROM fivetier_app;
