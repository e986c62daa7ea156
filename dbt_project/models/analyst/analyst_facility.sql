{# Puskesmas and posyandu (dim_facility), to name the facility keys of the analyst marts; facilities are public places, not persons. #}

select
    facility_key,
    facility_type,
    facility_code,
    facility_name,
    puskesmas_key,
    puskesmas_name,
    kelurahan_code,
    is_unknown
from {{ ref('dim_facility') }}
