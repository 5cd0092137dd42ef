//! Renders a znode time (milliseconds since the epoch) as Java's `Date.toString()` does.
//!
//! zkCli prints `ctime`/`mtime` that way. Java uses the JVM's time zone; we always print UTC
//! (what servers and containers run in) so that no time-zone database is needed.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Converts days since 1970-01-01 into (year, month 1-12, day 1-31) — Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as usize, day)
}

/// `Thu Jan 01 00:00:00 UTC 1970` for 0.
pub fn java_date(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    format!(
        "{weekday} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        MONTHS[month - 1],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::java_date;

    #[test]
    fn epoch() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    }

    #[test]
    fn known_dates() {
        // A ctime that zkCli 3.9 printed as shown (milliseconds are dropped).
        assert_eq!(java_date(1_795_304_905_123), "Sat Nov 21 23:48:25 UTC 2026");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }
}
