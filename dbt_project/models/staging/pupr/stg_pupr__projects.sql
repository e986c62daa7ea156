{# PUPR projects without kk_number, kk_raw, recipient_name, address, rt, rw and the coordinates. #}

with source_rows as (

    select * from {{ source('pupr', 'pupr_projects') }}

),

renamed as (

    select
        project_id,
        upper(btrim(project_type)) as project_type,
        'PUPR_' || upper(btrim(project_type)) as intervention_code,
        kk_key,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        completed_on,
        budget_year,
        upper(btrim(status)) as status,
        updated_at

    from source_rows

)

select * from renamed
