//! Java's text conventions, reproduced so our output is byte-identical to ZooKeeper's.
//!
//! Probes and exporters parse ZooKeeper's output with regular expressions written against
//! what the JVM prints: `Double.toString` (`0.0`, `1.2345678E7`), `Long.toHexString` of
//! negative numbers, `InetSocketAddress.toString` (`/127.0.0.1:2181`), `Date.toString`.
//! Rust's own formatting differs in each case, so these helpers exist.

use std::net::{IpAddr, SocketAddr};

/// `Long.toHexString`: lower-case hex of the two's complement, no prefix, no padding.
pub fn long_hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

/// `Double.toString`: decimal notation with at least one fractional digit for magnitudes in
/// [1e-3, 1e7), "computerized scientific notation" (`1.0E-4`, `1.2345678E7`) otherwise, and
/// the shortest digits that round-trip (the JDK 19+ algorithm; Rust prints the same digits).
pub fn double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let magnitude = d.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let s = format!("{d}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{d:e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                format!("{mantissa}E{exponent}")
            }
            Some((mantissa, exponent)) => format!("{mantissa}.0E{exponent}"),
            None => s,
        }
    }
}

/// Prometheus simpleclient's `doubleToGoString`: Java's `Double.toString` except for the
/// special values, which use Go's spelling.
pub fn go_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".to_string()
    } else if d == f64::INFINITY {
        "+Inf".to_string()
    } else if d == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        double(d)
    }
}

/// `AvgMinMaxCounter.getAvg()`: `total / (double) count`, then
/// `new BigDecimal(avg).setScale(4, HALF_UP).doubleValue()`; 0 without samples.
///
/// The rounding is done on the exact binary value of the double, as `BigDecimal(double)`
/// does, so ties resolve exactly as in Java. Exact for averages below 2^53 / 10^4.
pub fn avg_4dp(total: u64, count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    round_half_up_4(total as f64 / count as f64)
}

/// Rounds a finite non-negative double HALF_UP to 4 decimals, exactly like BigDecimal.
fn round_half_up_4(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return x;
    }
    let bits = x.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    // x = mantissa * 2^exponent exactly.
    let (mantissa, exponent) = if biased_exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased_exponent - 1075)
    };
    if exponent >= 0 {
        // An integer: nothing after the decimal point to round.
        return x;
    }
    let shift = exponent.unsigned_abs();
    let scaled = u128::from(mantissa) * 10_000;
    // scaled < 2^67, so from 2^68 on the value is below one half and rounds to zero.
    if shift >= 68 {
        return 0.0;
    }
    let quotient = scaled >> shift;
    let remainder = scaled & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let rounded = if remainder >= half {
        quotient + 1
    } else {
        quotient
    };
    rounded as f64 / 10_000.0
}

/// Java's textual IP address (`InetAddress.getHostAddress`): dotted IPv4; IPv6 as eight
/// unpadded hex groups without `::` compression; IPv4-mapped IPv6 as IPv4 (Java turns those
/// into `Inet4Address`).
pub fn host_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6
                .segments()
                .iter()
                .map(|s| format!("{s:x}"))
                .collect::<Vec<_>>()
                .join(":"),
        },
    }
}

fn host_address_of(addr: &SocketAddr) -> (String, bool) {
    match addr {
        SocketAddr::V4(v4) => (v4.ip().to_string(), false),
        SocketAddr::V6(v6) => {
            if let Some(v4) = v6.ip().to_ipv4_mapped() {
                return (v4.to_string(), false);
            }
            let mut s = host_address(IpAddr::V6(*v6.ip()));
            if v6.scope_id() != 0 {
                s.push_str(&format!("%{}", v6.scope_id()));
            }
            (s, true)
        }
    }
}

/// `InetSocketAddress.toString()` of an accepted socket (no host name resolved):
/// `/127.0.0.1:2181`, `/[0:0:0:0:0:0:0:1]:2181` (JDK 14+ brackets IPv6).
pub fn inet_socket_address(addr: &SocketAddr) -> String {
    let (host, v6) = host_address_of(addr);
    if v6 {
        format!("/[{host}]:{}", addr.port())
    } else {
        format!("/{host}:{}", addr.port())
    }
}

/// Jackson's `InetSocketAddressSerializer`: `127.0.0.1:2181`, `[0:0:0:0:0:0:0:1]:2181`.
pub fn jackson_socket_address(addr: &SocketAddr) -> String {
    let (host, v6) = host_address_of(addr);
    if v6 {
        format!("[{host}]:{}", addr.port())
    } else {
        format!("{host}:{}", addr.port())
    }
}

/// Proleptic Gregorian (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Utc {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
}

fn utc(epoch_ms: i64) -> Utc {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Utc {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday; index 0 is Sunday.
        weekday: (days + 4).rem_euclid(7) as usize,
        hour: sod / 3600,
        minute: sod % 3600 / 60,
        second: sod % 60,
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `java.util.Date.toString()` in a UTC JVM: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn date(epoch_ms: i64) -> String {
    let t = utc(epoch_ms);
    let month = MONTHS
        .get((t.month as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    let weekday = WEEKDAYS.get(t.weekday).copied().unwrap_or("Sun");
    format!(
        "{weekday} {month} {:02} {:02}:{:02}:{:02} UTC {:04}",
        t.day, t.hour, t.minute, t.second, t.year
    )
}

/// ZooKeeper's build timestamp pattern `yyyy-MM-dd HH:mm zz` in UTC: `2025-08-19 19:53 UTC`.
pub fn build_time(epoch_secs: i64) -> String {
    let t = utc(epoch_secs.saturating_mul(1000));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_dates_as_zkcli_prints_them() {
        assert_eq!(date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // A ctime that zkCli 3.9 printed as shown (milliseconds are dropped).
        assert_eq!(date(1_795_304_905_123), "Sat Nov 21 23:48:25 UTC 2026");
        assert_eq!(date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn doubles_print_like_java() {
        // Expected strings are what Double.toString prints for these values.
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(-0.0), "-0.0");
        assert_eq!(double(1.0), "1.0");
        assert_eq!(double(0.7561), "0.7561");
        assert_eq!(double(0.001), "0.001");
        assert_eq!(double(0.0001), "1.0E-4");
        assert_eq!(double(1.5e-5), "1.5E-5");
        assert_eq!(double(9_999_999.0), "9999999.0");
        assert_eq!(double(12_345_678.0), "1.2345678E7");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(1.7e9), "1.7E9");
        assert_eq!(double(-2.5), "-2.5");
        assert_eq!(double(f64::NAN), "NaN");
        assert_eq!(double(f64::INFINITY), "Infinity");
        assert_eq!(go_double(f64::INFINITY), "+Inf");
        assert_eq!(go_double(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_double(5.0), "5.0");
    }

    #[test]
    fn average_rounds_half_up_on_the_binary_value() {
        assert_eq!(avg_4dp(0, 0), 0.0);
        assert_eq!(avg_4dp(10, 4), 2.5);
        assert_eq!(avg_4dp(2, 3), 0.6667);
        assert_eq!(avg_4dp(1, 3), 0.3333);
        // 1/32 = 0.03125 is exact in binary: a true tie, HALF_UP goes up.
        assert_eq!(avg_4dp(1, 32), 0.0313);
        // 1/20000 = 0.00005 is slightly above the tie as a double (5.0000000000000002396e-5).
        assert_eq!(avg_4dp(1, 20_000), 0.0001);
        // 3/20000 = 0.00015 is slightly below the tie as a double: Java gives 1.0E-4.
        assert_eq!(avg_4dp(3, 20_000), 0.0001);
        // 7/20000: the rational 0.00035 would round up to 0.0004; the double is below it.
        assert_eq!(avg_4dp(7, 20_000), 0.0003);
        assert_eq!(avg_4dp(1, 1_000_000), 0.0);
        assert_eq!(avg_4dp(123_456_789, 1), 123_456_789.0);
    }

    #[test]
    fn hex_is_twos_complement() {
        assert_eq!(long_hex(0), "0");
        assert_eq!(long_hex(0x1_0000_0002), "100000002");
        assert_eq!(long_hex(-1), "ffffffffffffffff");
    }

    #[test]
    fn socket_addresses_print_like_java() {
        let v4: SocketAddr = "127.0.0.1:40312".parse().unwrap();
        let v6: SocketAddr = "[::1]:40312".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:10.0.0.7]:5".parse().unwrap();
        assert_eq!(inet_socket_address(&v4), "/127.0.0.1:40312");
        assert_eq!(inet_socket_address(&v6), "/[0:0:0:0:0:0:0:1]:40312");
        assert_eq!(inet_socket_address(&mapped), "/10.0.0.7:5");
        assert_eq!(jackson_socket_address(&v4), "127.0.0.1:40312");
        assert_eq!(jackson_socket_address(&v6), "[0:0:0:0:0:0:0:1]:40312");
        let fe80: SocketAddr = "[fe80::1%3]:7".parse().unwrap();
        assert_eq!(inet_socket_address(&fe80), "/[fe80:0:0:0:0:0:0:1%3]:7");
    }

    #[test]
    fn dates_print_like_java_util_date() {
        assert_eq!(date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(date(1_700_000_000_000), "Tue Nov 14 22:13:20 UTC 2023");
        assert_eq!(date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(date(-1000), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(build_time(1_755_633_180), "2025-08-19 19:53 UTC");
    }
}
