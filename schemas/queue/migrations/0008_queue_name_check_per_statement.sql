-- fivetier queue tier, migration 0008: the queue name of a job is checked once per statement,
-- not once per row.
--
-- why: the foreign key jobs.queue_name -> job_queues made PostgreSQL run one look-up per inserted
-- job, each taking a KEY SHARE lock on the queue's row (concurrent enqueues then share it through
-- a multixact): 25-50% of a 1,000-job enqueue in bench/queue.ts. One anti-join over the
-- statement's new rows gives the same guarantee, with the same error (SQLSTATE 23503). A queue
-- row that jobs still name cannot be deleted or renamed; that rare operator action locks out
-- new jobs while it looks.
ALTER TABLE jobs DROP CONSTRAINT jobs_queue_name_fkey;

CREATE FUNCTION fivetier_jobs_check_queue() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unknown text;
BEGIN
    SELECT n.queue_name INTO unknown FROM new_jobs n
    WHERE NOT EXISTS (SELECT 1 FROM public.job_queues q WHERE q.name = n.queue_name)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "jobs" violates foreign key constraint "jobs_queue_name_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (queue_name)=(%s) is not present in table "job_queues".', unknown),
                  TABLE = 'jobs', CONSTRAINT = 'jobs_queue_name_fkey';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_check_queue_on_insert
    AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION fivetier_jobs_check_queue();

-- why: no statement of fivetier moves a job to another queue; one that does is checked per row,
-- and the hot updates (claim, start, completion) do not name the column, so they pay nothing.
CREATE FUNCTION fivetier_jobs_check_queue_row() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.job_queues q WHERE q.name = NEW.queue_name) THEN
        RAISE EXCEPTION 'insert or update on table "jobs" violates foreign key constraint "jobs_queue_name_fkey"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (queue_name)=(%s) is not present in table "job_queues".', NEW.queue_name),
                  TABLE = 'jobs', CONSTRAINT = 'jobs_queue_name_fkey';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER jobs_check_queue_on_update
    BEFORE UPDATE OF queue_name ON jobs
    FOR EACH ROW WHEN (NEW.queue_name IS DISTINCT FROM OLD.queue_name)
    EXECUTE FUNCTION fivetier_jobs_check_queue_row();

CREATE FUNCTION fivetier_job_queues_keep_named() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;
    END IF;
    -- why: no job with this queue name may commit while we look
    LOCK TABLE public.jobs IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM public.jobs j WHERE j.queue_name = OLD.name) THEN
        RAISE EXCEPTION 'update or delete on table "job_queues" violates foreign key constraint "jobs_queue_name_fkey" on table "jobs"'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (name)=(%s) is still referenced from table "jobs".', OLD.name),
                  TABLE = 'job_queues', CONSTRAINT = 'jobs_queue_name_fkey';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END;
$$;

CREATE TRIGGER job_queues_keep_named
    BEFORE DELETE OR UPDATE OF name ON job_queues
    FOR EACH ROW EXECUTE FUNCTION fivetier_job_queues_keep_named();
