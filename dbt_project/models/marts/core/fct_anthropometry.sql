{# One row per child measurement with z-scores, categories, flags and wilayah/facility keys: int_measurements_located, published. #}

select * from {{ ref('int_measurements_located') }}
