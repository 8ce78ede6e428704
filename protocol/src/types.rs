//! PostgreSQL's type OIDs, in one place: the constants every crate names types
//! by, the array type of each element type and back, the length RowDescription
//! reports, and the built-in types `pg_type` shows.

/// Postgres type OIDs used by Floe.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const REGPROC: u32 = 24;
    pub const REGPROCEDURE: u32 = 2202;
    pub const REGOPER: u32 = 2203;
    pub const REGOPERATOR: u32 = 2204;
    pub const REGCLASS: u32 = 2205;
    pub const REGTYPE: u32 = 2206;
    pub const REGNAMESPACE: u32 = 4089;
    pub const REGROLE: u32 = 4096;
    pub const REGCONFIG: u32 = 3734;
    pub const ACLITEM: u32 = 1033;
    pub const NAME_ARRAY: u32 = 1003;
    pub const CHAR_ARRAY: u32 = 1002;
    pub const ACLITEM_ARRAY: u32 = 1034;
    pub const OID_ARRAY: u32 = 1028;
    pub const INT2VECTOR: u32 = 22;
    pub const OIDVECTOR: u32 = 30;
    pub const REGDICTIONARY: u32 = 3769;
    pub const JSON: u32 = 114;
    pub const JSON_ARRAY: u32 = 199;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BOOL_ARRAY: u32 = 1000;
    pub const BYTEA_ARRAY: u32 = 1001;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT4_ARRAY: u32 = 1021;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMP_ARRAY: u32 = 1115;
    pub const DATE_ARRAY: u32 = 1182;
    pub const TIME_ARRAY: u32 = 1183;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
    pub const INTERVAL: u32 = 1186;
    pub const INTERVAL_ARRAY: u32 = 1187;
    pub const NUMERIC_ARRAY: u32 = 1231;
    pub const TIMETZ: u32 = 1266;
    pub const TIMETZ_ARRAY: u32 = 1270;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const VARBIT_ARRAY: u32 = 1563;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const UUID_ARRAY: u32 = 2951;
    pub const JSONB: u32 = 3802;
    pub const PG_LSN: u32 = 3220;
    pub const JSONB_ARRAY: u32 = 3807;
}

/// The array type of an element type, if Postgres has one.
pub fn array_of(elem: u32) -> Option<u32> {
    Some(match elem {
        oid::BOOL => oid::BOOL_ARRAY,
        oid::BYTEA => oid::BYTEA_ARRAY,
        oid::INT2 => oid::INT2_ARRAY,
        oid::INT4 => oid::INT4_ARRAY,
        oid::INT8 => oid::INT8_ARRAY,
        oid::OID => oid::OID_ARRAY,
        oid::TEXT => oid::TEXT_ARRAY,
        oid::VARCHAR => oid::VARCHAR_ARRAY,
        oid::FLOAT4 => oid::FLOAT4_ARRAY,
        oid::FLOAT8 => oid::FLOAT8_ARRAY,
        oid::DATE => oid::DATE_ARRAY,
        oid::TIME => oid::TIME_ARRAY,
        oid::TIMESTAMP => oid::TIMESTAMP_ARRAY,
        oid::TIMESTAMPTZ => oid::TIMESTAMPTZ_ARRAY,
        oid::INTERVAL => oid::INTERVAL_ARRAY,
        oid::NUMERIC => oid::NUMERIC_ARRAY,
        oid::TIMETZ => oid::TIMETZ_ARRAY,
        oid::UUID => oid::UUID_ARRAY,
        oid::JSON => oid::JSON_ARRAY,
        oid::JSONB => oid::JSONB_ARRAY,
        oid::VARBIT => oid::VARBIT_ARRAY,
        _ => return None,
    })
}

/// The element type of an array type.
pub fn element_of(array: u32) -> Option<u32> {
    [
        oid::BOOL,
        oid::BYTEA,
        oid::INT2,
        oid::INT4,
        oid::INT8,
        oid::OID,
        oid::TEXT,
        oid::VARCHAR,
        oid::FLOAT4,
        oid::FLOAT8,
        oid::DATE,
        oid::TIME,
        oid::TIMESTAMP,
        oid::TIMESTAMPTZ,
        oid::INTERVAL,
        oid::NUMERIC,
        oid::TIMETZ,
        oid::UUID,
        oid::JSON,
        oid::JSONB,
        oid::VARBIT,
    ]
    .into_iter()
    .find(|e| array_of(*e) == Some(array))
}

/// The `typlen` Postgres reports for a type in RowDescription.
pub fn type_len(oid: u32) -> i16 {
    match oid {
        oid::BOOL | oid::CHAR => 1,
        oid::INT2 => 2,
        oid::INT4 | oid::FLOAT4 | oid::DATE | oid::OID => 4,
        oid::INT8 | oid::FLOAT8 | oid::TIME | oid::TIMESTAMP | oid::TIMESTAMPTZ => 8,
        oid::TIMETZ => 12,
        oid::INTERVAL | oid::UUID => 16,
        oid::NAME => 64,
        _ => -1,
    }
}

/// The built-in types the PostgreSQL catalog shows (`pg_type`): (oid, name,
/// length, category, element oid, array oid).
pub const BUILTIN_TYPES: &[(u32, &str, i16, char, u32, u32)] = &[
    (16, "bool", 1, 'B', 0, 1000),
    (17, "bytea", -1, 'U', 0, 1001),
    (18, "char", 1, 'Z', 0, 1002),
    (19, "name", 64, 'S', 0, 1003),
    (20, "int8", 8, 'N', 0, 1016),
    (21, "int2", 2, 'N', 0, 1005),
    (23, "int4", 4, 'N', 0, 1007),
    (25, "text", -1, 'S', 0, 1009),
    (26, "oid", 4, 'N', 0, 1028),
    (114, "json", -1, 'U', 0, 199),
    (700, "float4", 4, 'N', 0, 1021),
    (701, "float8", 8, 'N', 0, 1022),
    (1042, "bpchar", -1, 'S', 0, 1014),
    (1043, "varchar", -1, 'S', 0, 1015),
    (1082, "date", 4, 'D', 0, 1182),
    (1083, "time", 8, 'D', 0, 1183),
    (1114, "timestamp", 8, 'D', 0, 1115),
    (1184, "timestamptz", 8, 'D', 0, 1185),
    (1186, "interval", 16, 'T', 0, 1187),
    (1700, "numeric", -1, 'N', 0, 1231),
    (2950, "uuid", 16, 'U', 0, 2951),
    (3802, "jsonb", -1, 'U', 0, 3807),
    (199, "_json", -1, 'A', 114, 0),
    (1000, "_bool", -1, 'A', 16, 0),
    (1001, "_bytea", -1, 'A', 17, 0),
    (1005, "_int2", -1, 'A', 21, 0),
    (1007, "_int4", -1, 'A', 23, 0),
    (1009, "_text", -1, 'A', 25, 0),
    (1015, "_varchar", -1, 'A', 1043, 0),
    (1016, "_int8", -1, 'A', 20, 0),
    (1021, "_float4", -1, 'A', 700, 0),
    (1022, "_float8", -1, 'A', 701, 0),
    (1115, "_timestamp", -1, 'A', 1114, 0),
    (1182, "_date", -1, 'A', 1082, 0),
    (1183, "_time", -1, 'A', 1083, 0),
    (1185, "_timestamptz", -1, 'A', 1184, 0),
    (1187, "_interval", -1, 'A', 1186, 0),
    (1231, "_numeric", -1, 'A', 1700, 0),
    (2951, "_uuid", -1, 'A', 2950, 0),
    (3807, "_jsonb", -1, 'A', 3802, 0),
];
