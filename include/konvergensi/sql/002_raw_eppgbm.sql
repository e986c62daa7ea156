-- e-PPGBM rows as loaded: lineage, personal data (restricted), pseudonyms, cleaned attributes.
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
);
-- No primary key: (source_file, source_row) is unique by construction (a file's rows are deleted and
-- loaded again in one transaction, one loader at a time), and a btree would double the cost of COPY.
-- Rows arrive in batch order, so a BRIN index on batch_id is nearly free to maintain and finds a
-- batch's rows (incremental dbt runs, replacing a corrected file) without scanning the table.
alter table raw.eppgbm_measurements drop constraint if exists eppgbm_measurements_pkey;
drop index if exists raw.eppgbm_measurements_batch_idx;
create index if not exists eppgbm_measurements_batch_brin on raw.eppgbm_measurements using brin (batch_id);

create table if not exists raw.eppgbm_quarantine (
    batch_id       bigint not null,
    source_file    text not null,
    file_checksum  text not null,
    source_row     integer not null,
    reason         text not null,
    record         jsonb not null,
    primary key (source_file, source_row)
);
