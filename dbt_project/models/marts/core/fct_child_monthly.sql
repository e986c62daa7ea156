{# One row per child under five and evaluated month with nutrition status and scorecard answers: int_child_monthly, published. #}

select * from {{ ref('int_child_monthly') }}
