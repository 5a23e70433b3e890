-- One row per distinct trip of the day: validated rows (their fields text, as delivered) typed and normalised.
-- A trip delivered twice is kept once, from the first file and line that brought it.
with validated as (
    select * from validated_trips
),

tidied as (
    select
        source_file,
        line_no,
        {{ collapse_ws(region) }} as region_text,
        lower({{ collapse_ws(datasource) }}) as datasource,
        {{ parse_ts(datetime) }} as trip_ts,
        {{ wkt_text(origin_coord) }} as origin_wkt,
        {{ wkt_text(destination_coord) }} as dest_wkt,
        {{ wkt_lon(origin_coord) }} as origin_lon,
        {{ wkt_lat(origin_coord) }} as origin_lat,
        {{ wkt_lon(destination_coord) }} as dest_lon,
        {{ wkt_lat(destination_coord) }} as dest_lat
    from validated
),

normalised as (
    select
        *,
        {{ initcap(region_text) }} as region,
        {{ ts_text(trip_ts) }} as trip_ts_text
    from tidied
),

keyed as (
    select
        {{ surrogate_key(region, datasource, trip_ts_text, origin_wkt, dest_wkt) }} as trip_id,
        *
    from normalised
),

ranked as (
    select
        *,
        row_number() over (partition by trip_id order by source_file, line_no) as occurrence
    from keyed
),

final as (
    select
        trip_id,
        region,
        datasource,
        trip_ts,
        origin_lon,
        origin_lat,
        dest_lon,
        dest_lat,
        source_file,
        line_no
    from ranked
    where occurrence = 1
)

select * from final
