-- e-PPGBM rows as loaded: lineage, personal data (restricted), pseudonyms, cleaned attributes.
-- Partitioned by the month of measured_on (issue 9): a partition a month, and a default partition
-- where rows land whose month has none yet; raw.eppgbm_partition_months() moves them into their own
-- after each load. A warehouse made before the table was partitioned has a plain table: it is set
-- aside here and its rows moved into the partitioned table below.
do $$
begin
    if (select c.relkind from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = 'raw' and c.relname = 'eppgbm_measurements') = 'r' then
        alter table raw.eppgbm_measurements rename to eppgbm_measurements_unpartitioned;
        alter index if exists raw.eppgbm_measurements_batch_brin rename to eppgbm_measurements_unpartitioned_batch_brin;
    end if;
end $$;

create table if not exists raw.eppgbm_measurements (
    batch_id             bigint not null,
    source_file          text not null,
    file_checksum        text not null,
    source_row           integer not null,
    nik                  text,
    nik_raw              text,
    nik_status           text not null,
    child_name           text,
    parent_name          text,
    parent_nik           text,
    kk_number            text,
    phone                text,
    address              text,
    rt                   text,
    rw                   text,
    child_nik_key        text,
    child_person_key     text not null,
    sex                  text not null,
    birth_date           date not null,
    birth_weight_kg      double precision,
    birth_length_cm      double precision,
    province_name        text,
    city_name            text,
    kecamatan_name       text,
    puskesmas_name       text,
    kelurahan_name       text,
    posyandu_name        text,
    age_text             text,
    measured_on          date not null,
    measurement_month    text,
    weight_kg            double precision,
    height_cm            double precision,
    position             text,
    position_raw         text,
    muac_cm              double precision,
    eppgbm_waz_category  text,
    eppgbm_waz           double precision,
    eppgbm_haz_category  text,
    eppgbm_haz           double precision,
    eppgbm_whz_category  text,
    eppgbm_whz           double precision,
    weight_gain          text,
    pmt_received_kg      double precision,
    vit_a_count          text,
    kpsp                 text,
    kia                  text,
    weight_raw           text,
    height_raw           text,
    cleaning_notes       text
) partition by range (measured_on);
create table if not exists raw.eppgbm_measurements_default partition of raw.eppgbm_measurements default;
-- No primary key: (source_file, source_row) is unique by construction (a file's rows are deleted and
-- loaded again in one transaction, one loader at a time), and a btree would double the cost of COPY.
-- Rows arrive in batch order, so a BRIN index on batch_id is nearly free to maintain and finds a
-- batch's rows (incremental dbt runs, replacing a corrected file) without scanning the table.
alter table raw.eppgbm_measurements drop constraint if exists eppgbm_measurements_pkey;
drop index if exists raw.eppgbm_measurements_batch_idx;
create index if not exists eppgbm_measurements_batch_brin on raw.eppgbm_measurements using brin (batch_id);

-- Runs as the owner of the raw tables (SECURITY DEFINER): the loader, which may not run DDL, calls it
-- after its loads. Each month found in the default partition (from 2000 up to next month; rows dated
-- outside stay in the default, e.g. a year typed wrong) gets its partition: the month's rows are
-- copied into a new table, deleted from the default, and the table attached. A new partition gets the
-- parent's privileges, so the loader may VACUUM it before `roles apply` next runs. Returns the
-- partitions made.
create or replace function raw.eppgbm_partition_months() returns integer
language plpgsql security definer set search_path = pg_catalog
as $$
declare
    month date;
    partition_name text;
    made integer := 0;
    privilege record;
begin
    perform pg_advisory_xact_lock(hashtext('konvergensi.eppgbm_partitions'));
    for month in
        select distinct date_trunc('month', measured_on)::date
        from raw.eppgbm_measurements_default
        where measured_on >= date '2000-01-01'
          and measured_on < date_trunc('month', current_date) + interval '2 months'
        order by 1
    loop
        partition_name := format('eppgbm_measurements_%s', to_char(month, 'YYYY_MM'));
        execute format('create table raw.%I (like raw.eppgbm_measurements including defaults including constraints)',
                       partition_name);
        execute format('insert into raw.%I select * from raw.eppgbm_measurements_default'
                       ' where measured_on >= %L and measured_on < %L',
                       partition_name, month, (month + interval '1 month')::date);
        delete from raw.eppgbm_measurements_default
        where measured_on >= month and measured_on < (month + interval '1 month')::date;
        execute format('alter table raw.eppgbm_measurements attach partition raw.%I for values from (%L) to (%L)',
                       partition_name, month, (month + interval '1 month')::date);
        for privilege in
            select pg_get_userbyid(acl.grantee) as grantee, acl.privilege_type
            from pg_class as c cross join lateral aclexplode(c.relacl) as acl
            where c.oid = 'raw.eppgbm_measurements'::regclass and acl.grantee <> 0 and acl.grantee <> c.relowner
        loop
            execute format('grant %s on raw.%I to %I', privilege.privilege_type, partition_name, privilege.grantee);
        end loop;
        made := made + 1;
    end loop;
    return made;
end $$;
revoke all on function raw.eppgbm_partition_months() from public;

do $$
begin
    if to_regclass('raw.eppgbm_measurements_unpartitioned') is not null then
        insert into raw.eppgbm_measurements select * from raw.eppgbm_measurements_unpartitioned;
        drop table raw.eppgbm_measurements_unpartitioned;
    end if;
end $$;
select raw.eppgbm_partition_months();

create table if not exists raw.eppgbm_quarantine (
    batch_id       bigint not null,
    source_file    text not null,
    file_checksum  text not null,
    source_row     integer not null,
    reason         text not null,
    record         jsonb not null,
    primary key (source_file, source_row)
);
