//! The AWS Backup operations served, by name: a leaf both the routes and the faults read, so
//! neither has to depend on the other.

/// Declares [`Operation`] with each variant named once; its AWS name is the variant's name.
macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        /// One AWS Backup operation the stand-in serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($op),*
        }

        impl Operation {
            /// Every operation, in the order of [`OPERATIONS`].
            pub const ALL: [Operation; [$(stringify!($op)),*].len()] = [$(Operation::$op),*];

            /// The operation's AWS name, as the SDKs and `throttle` faults spell it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Operation::$op => stringify!($op)),*
                }
            }
        }
    };
}

operations![
    CreateBackupVault,
    DescribeBackupVault,
    StartBackupJob,
    DescribeBackupJob,
    ListBackupJobs,
    StopBackupJob,
    StartCopyJob,
    DescribeCopyJob,
    ListCopyJobs,
    StartRestoreJob,
    DescribeRestoreJob,
    DescribeRecoveryPoint,
    ListRecoveryPointsByBackupVault,
    GetRecoveryPointRestoreMetadata,
    ListTags,
    TagResource,
    UntagResource,
    ListRestoreJobs,
];

/// The operations served, by their AWS names (the names `throttle` faults take).
pub const OPERATIONS: [&str; Operation::ALL.len()] = {
    let mut names = [""; Operation::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Operation::ALL[i].name();
        i += 1;
    }
    names
};

impl Operation {
    /// The operation named `name`, if it is one served.
    pub fn named(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_variants_and_unique() {
        assert_eq!(Operation::StartBackupJob.name(), "StartBackupJob");
        assert_eq!(
            Operation::named("ListRecoveryPointsByBackupVault"),
            Some(Operation::ListRecoveryPointsByBackupVault)
        );
        assert_eq!(Operation::named("Nope"), None);
        for (i, name) in OPERATIONS.iter().enumerate() {
            assert_eq!(OPERATIONS.iter().position(|n| n == name), Some(i));
        }
        assert_eq!(OPERATIONS.len(), 18);
    }
}
