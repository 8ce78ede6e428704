{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert'
    )
}}

select
    order_id,
    customer_id,
    order_date,
    amount,
    status,
    current_timestamp as loaded_at
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where order_date >= (select max(order_date) - 1 from {{ this }})
{% endif %}
