with facilities as (

    select * from {{ ref('ref_facilities') }}

),

renamed as (

    select
        facility_code,
        facility_type,
        facility_name,
        case facility_type
            when 'puskesmas' then {{ normalise_puskesmas_name('facility_name') }}
            when 'posyandu' then {{ normalise_posyandu_name('facility_name') }}
        end as facility_name_normalised,
        puskesmas_code,
        kelurahan_code
    from facilities

)

select * from renamed
