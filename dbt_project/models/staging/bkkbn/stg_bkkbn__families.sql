{#
    BKKBN families without kk_number, kk_raw, head_nik, head_name, wife_nik, wife_nik_raw, wife_name,
    wife_birth_date, rt and rw. Flags stay null when the file left them empty.
#}

with source_rows as (

    select * from {{ source('bkkbn', 'bkkbn_families') }}

),

renamed as (

    select
        batch_id,
        source_file,
        source_row,
        {{ surrogate_key(['source_file', 'source_row']) }} as family_record_key,
        nullif(btrim(kelurahan_code), '') as kelurahan_code,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        kk_key,
        head_nik_key,
        wife_nik_key,
        children_count,
        last_child_birth_date,
        has_baduta,
        has_balita,
        is_pus,
        is_pregnant,
        improved_water,
        proper_latrine,
        too_young,
        too_old,
        too_close,
        too_many,
        uninhabitable_house,
        at_risk_of_stunting,
        surveyed_on

    from source_rows

)

select * from renamed
