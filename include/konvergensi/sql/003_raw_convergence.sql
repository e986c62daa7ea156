-- Convergence sources (see docs/convergence-sources.md): maternal and child services API, DTSEN
-- welfare register, BKKBN family data, public-works GeoJSON. Idempotent, run before every load.
-- Personal columns stay in raw (restricted); *_nik_key / *_kk_key are keyed pseudonyms.

alter table ops.file_loads add column if not exists source text not null default 'eppgbm';

create table if not exists ops.source_extracts (
    extract_id           bigserial primary key,
    source               text not null,
    run_id               text not null,
    watermark_from       timestamptz,
    watermark_to         timestamptz,
    status               text not null check (status in ('running', 'loaded', 'failed')),
    records_read         integer,
    records_loaded       integer,
    records_quarantined  integer,
    pages                integer,
    attempts             integer,
    error                text,
    started_at           timestamptz not null default now(),
    finished_at          timestamptz,
    constraint records_add_up check (
        status <> 'loaded' or records_read = records_loaded + records_quarantined
    )
);
create index if not exists source_extracts_source_idx on ops.source_extracts (source, extract_id);

create table if not exists ops.source_watermarks (
    source      text primary key,
    watermark   timestamptz not null,
    extract_id  bigint not null references ops.source_extracts (extract_id),
    updated_at  timestamptz not null default now()
);

create table if not exists raw.source_quarantine (
    source          text not null,
    record_id       text not null,
    extract_id      bigint not null,
    reason          text not null,
    record          jsonb not null,
    quarantined_at  timestamptz not null default now(),
    primary key (source, record_id)
);

-- 1. Maternal and child services API -----------------------------------------------------------
create table if not exists raw.mch_services (
    service_id        text primary key,
    service_code      text not null,
    service_date      date not null,
    target_type       text,
    nik               text,
    nik_raw           text,
    nik_key           text,
    person_name       text,
    birth_date        date,
    mother_nik        text,
    mother_nik_key    text,
    kk_number         text,
    kk_key            text,
    kelurahan_name    text,
    facility_code     text,
    quantity          numeric,
    status            text not null,
    updated_at        timestamptz not null,
    extract_id        bigint not null
);
create index if not exists mch_services_extract_idx on raw.mch_services (extract_id);

create table if not exists raw.mch_pregnancies (
    pregnancy_id            text primary key,
    mother_nik              text,
    mother_nik_raw          text,
    mother_nik_key          text,
    mother_name             text,
    mother_birth_date       date,
    kk_number               text,
    kk_key                  text,
    address                 text,
    rt                      text,
    rw                      text,
    kelurahan_name          text,
    last_menstrual_date     date not null,
    expected_delivery_date  date,
    muac_cm                 numeric,
    is_kek                  boolean,
    is_high_risk            boolean,
    risk_factors            text,
    pregnancy_status        text not null,
    delivery_date           date,
    facility_code           text,
    updated_at              timestamptz not null,
    extract_id              bigint not null
);

-- 2. DTSEN welfare register --------------------------------------------------------------------
create table if not exists raw.dtsen_households (
    household_id          text primary key,
    household_key         text not null,
    kk_number             text,
    kk_raw                text,
    kk_key                text,
    kelurahan_code        text,
    kelurahan_name        text,
    address               text,
    rt                    text,
    rw                    text,
    desil                 smallint,
    floor_area_m2         numeric,
    floor_code            smallint,
    wall_code             smallint,
    roof_code             smallint,
    drinking_water_code   smallint,
    defecation_code       smallint,
    toilet_code           smallint,
    disposal_code         smallint,
    members_count         smallint,
    update_period         text,
    updated_at            timestamptz not null,
    extract_id            bigint not null
);

create table if not exists raw.dtsen_members (
    member_id               text primary key,
    household_id            text not null,
    nik                     text,
    nik_raw                 text,
    nik_key                 text,
    member_name             text,
    relation_code           smallint,
    sex_code                smallint,
    birth_date              date,
    birth_certificate_code  smallint,
    occupation_sector_code  smallint,
    employment_status_code  smallint,
    kms_note_code           smallint,
    health_insurance_code   smallint,
    residence_status_code   smallint,
    updated_at              timestamptz not null,
    extract_id              bigint not null
);
create index if not exists dtsen_members_household_idx on raw.dtsen_members (household_id);

create table if not exists raw.dtsen_programmes (
    household_id  text not null,
    programme     text not null,
    year          smallint not null,
    month         smallint not null,
    updated_at    timestamptz not null,
    extract_id    bigint not null,
    primary key (household_id, programme, year, month)
);

-- 3. BKKBN family data (CSV per kelurahan) -----------------------------------------------------
create table if not exists raw.bkkbn_families (
    batch_id                  bigint not null,
    source_file               text not null,
    file_checksum             text not null,
    source_row                integer not null,
    kelurahan_code            text,
    kelurahan_name            text,
    rw                        text,
    rt                        text,
    kk_number                 text,
    kk_raw                    text,
    kk_key                    text,
    head_nik                  text,
    head_nik_key              text,
    head_name                 text,
    wife_nik                  text,
    wife_nik_raw              text,
    wife_nik_key              text,
    wife_name                 text,
    wife_birth_date           date,
    children_count            smallint,
    last_child_birth_date     date,
    has_baduta                boolean,
    has_balita                boolean,
    is_pus                    boolean,
    is_pregnant               boolean,
    improved_water            boolean,
    proper_latrine            boolean,
    too_young                 boolean,
    too_old                   boolean,
    too_close                 boolean,
    too_many                  boolean,
    uninhabitable_house       boolean,
    at_risk_of_stunting       boolean,
    surveyed_on               date not null,
    primary key (source_file, source_row)
);

create table if not exists raw.bkkbn_quarantine (
    batch_id       bigint not null,
    source_file    text not null,
    file_checksum  text not null,
    source_row     integer not null,
    reason         text not null,
    record         jsonb not null,
    primary key (source_file, source_row)
);

-- 4. Public works GeoJSON ----------------------------------------------------------------------
create table if not exists raw.pupr_household_surveys (
    survey_id          text primary key,
    kk_number          text,
    kk_raw             text,
    kk_key             text,
    head_name          text,
    address            text,
    rt                 text,
    rw                 text,
    kelurahan_name     text,
    surveyed_on        date not null,
    sanitation_access  text,
    water_access       text,
    is_uninhabitable   boolean,
    floor_area_m2      numeric,
    occupants          smallint,
    longitude          double precision,
    latitude           double precision,
    updated_at         timestamptz not null,
    extract_id         bigint not null
);

create table if not exists raw.pupr_projects (
    project_id      text primary key,
    project_type    text not null,
    kk_number       text,
    kk_raw          text,
    kk_key          text,
    recipient_name  text,
    address         text,
    rt              text,
    rw              text,
    kelurahan_name  text,
    completed_on    date,
    budget_year     smallint,
    status          text not null,
    longitude       double precision,
    latitude        double precision,
    updated_at      timestamptz not null,
    extract_id      bigint not null
);
