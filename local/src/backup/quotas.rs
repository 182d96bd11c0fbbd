//! The AWS Backup quotas the stand-in enforces, each as the quotas page
//! (https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html) and the
//! general reference (https://docs.aws.amazon.com/general/latest/gr/bk.html) give it. None is
//! adjustable.
//!
//! * "Concurrent backup and copy jobs per resource: 1": a copy job of a recovery point holds
//!   the resource the point is of, as a backup job of that resource does (see
//!   [`super::store::State::holds_resource`]);
//! * "Metadata tags per backup: 50": [`MAX_RECOVERY_POINT_TAGS`];
//! * "Tags added to a recovery point" by a plan rule: 10 ([`check_rule_tags`]);
//! * concurrent copy jobs into a destination region: 100, then 5 per destination vault
//!   ([`crate::config::CopyQuota`]).

use super::error::ApiError;

/// "Metadata tags per backup: 50": the most tags a recovery point can carry.
pub const MAX_RECOVERY_POINT_TAGS: usize = 50;

/// "Tags added to a recovery point: 10" (the quotas page's policy quotas): the most
/// `RecoveryPointTags` a backup plan rule can give.
pub const MAX_RULE_TAGS: usize = 10;

/// TagResource's answer when a recovery point would pass [`MAX_RECOVERY_POINT_TAGS`]:
/// LimitExceededException, "A limit in the request has been exceeded; for example, a maximum
/// number of items allowed in a request" (one of its documented errors,
/// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_TagResource.html).
pub fn check_recovery_point_tags(arn: &str, count: usize) -> Result<(), ApiError> {
    if count > MAX_RECOVERY_POINT_TAGS {
        return Err(ApiError::limit_exceeded(format!(
            "Recovery point {arn} would have {count} tags: a recovery point can have at most \
             {MAX_RECOVERY_POINT_TAGS} (Metadata tags per backup)."
        )));
    }
    Ok(())
}

/// A plan rule's `RecoveryPointTags` past [`MAX_RULE_TAGS`], refused as CreateBackupPlan
/// refuses one: LimitExceededException is among its documented errors
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupPlan.html).
pub fn check_rule_tags(rule: &str, count: usize) -> Result<(), ApiError> {
    if count > MAX_RULE_TAGS {
        return Err(ApiError::limit_exceeded(format!(
            "Backup rule {rule} adds {count} tags to its recovery points: a rule can add at \
             most {MAX_RULE_TAGS} (Tags added to a recovery point)."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_tags_fit_a_recovery_point_and_fifty_one_do_not() {
        assert!(check_recovery_point_tags("rp", 50).is_ok());
        let e = check_recovery_point_tags("rp", 51).unwrap_err();
        assert_eq!(e.code, "LimitExceededException");
        assert!(
            e.message.contains("Metadata tags per backup"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_rule_adds_ten_tags_at_most_and_the_template_s_plans_fit() {
        assert!(check_rule_tags("r", 10).is_ok());
        let e = check_rule_tags("r", 11).unwrap_err();
        assert_eq!(e.code, "LimitExceededException");
        for plan in &super::super::plans::PLANS {
            assert!(
                check_rule_tags(plan.rule_name, plan.recovery_point_tags.len()).is_ok(),
                "{}",
                plan.rule_name
            );
        }
    }
}
