//! Tenant backup ids and the time each carries, which orders a tenant's backups.

const HOURLY_PREFIX: &str = "hourly-";

/// The id of the hourly backup of a plan run: `hourly-<YYYYMMDDTHH>00Z`, the UTC hour the
/// run's recovery points were made in. The same for every tenant (the catalog keeps backups
/// per tenant), and stable: the file-system point and the database point of one run, which
/// arrive as separate events in any order, name the same backup. The plans run on the hour
/// (`BackupScheduleExpression`), so one run's points share their hour.
pub fn hourly_backup_id(created_at: i64) -> String {
    let hour = created_at - created_at.rem_euclid(3600);
    let format = time::macros::format_description!("[year][month][day]T[hour][minute]Z");
    let when = time::OffsetDateTime::from_unix_timestamp(hour)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| hour.to_string());
    format!("{HOURLY_PREFIX}{when}")
}

/// When the backup a tenant backup id names was planned, in seconds since the epoch; `None`
/// for an id made before ids carried it (`tb-<digest>`), or for anything else.
pub fn planned_at(backup_id: &str) -> Option<i64> {
    let rest = backup_id.strip_prefix("tb-")?;
    let (when, digest) = rest.split_once('-')?;
    if digest.len() != 20 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(when, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// The time a tenant backup id carries (seconds since the epoch): when an on-demand or fleet
/// backup was planned, or the hour of an hourly one. `None` for ids made before ids carried
/// a time (`tb-<digest>`) and for anything else.
pub fn backup_time(backup_id: &str) -> Option<i64> {
    if let Some(when) = backup_id.strip_prefix(HOURLY_PREFIX) {
        let format = time::macros::format_description!("[year][month][day]T[hour][minute]Z");
        return time::PrimitiveDateTime::parse(when, &format)
            .ok()
            .map(|t| t.assume_utc().unix_timestamp());
    }
    planned_at(backup_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hourly_id_names_the_hour_and_reads_back() {
        // 2025-11-26T07:42:10Z
        let t = 1_764_142_930;
        let id = hourly_backup_id(t);
        assert_eq!(id, "hourly-20251126T0700Z");
        assert_eq!(backup_time(&id), Some(t - t % 3600));
        // Every point of the hour names the same backup; the next hour another.
        assert_eq!(hourly_backup_id(t - t % 3600), id);
        assert_ne!(hourly_backup_id(t - t % 3600 + 3600), id);
        assert_eq!(backup_time("hourly-2025"), None);
        assert_eq!(backup_time("hourly-20251126T0700Z-x"), None);
    }

    #[test]
    fn an_on_demand_id_carries_its_planning_time() {
        let t = 1_764_142_200;
        assert_eq!(t, 1_764_142_200); // 2025-11-26T07:30:00Z
        let id = "tb-20251126T073000Z-0123456789abcdef0123";
        assert_eq!(backup_time(id), Some(t));
        assert_eq!(backup_time("tb-0123456789abcdef0123"), None);
    }
}
