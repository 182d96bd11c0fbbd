//! A directory held open, and every later step resolved beneath it.
//!
//! The functions that touch tenants' files mount the file system through its root access
//! point, where each tenant's site can write its own directory: a site may swap any of its
//! directories for a symbolic link at any moment, between a check and the use that follows.
//! So a tenant's directory is opened once, as a handle that followed no link, and every
//! later step (a subdirectory, a file, a link, a removal) goes through `openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`
//! (<https://man7.org/linux/man-pages/man2/openat2.2.html>) or an `*at` call on one plain
//! name: a link anywhere on the way fails the step (`ELOOP`) instead of leaving the tenant.
//! Modes and owners are set on the opened handle (`fchmod`, `fchown`), never by path.
//!
//! Races are made deterministic in tests by [`Held::race_point`], honoured by debug builds
//! only (the local stack's), never by a release build.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

/// Where, at the file system's root, a debug build reads the race hooks of
/// [`Held::race_point`]. A leading dot: no tenant id can take it, no site's access point
/// reaches it.
pub const RACE_HOOKS_DIR: &str = ".bbws-race";

/// A directory opened once; what lies beneath it is reached only through it.
#[derive(Clone, Debug)]
pub struct Held {
    fd: Arc<OwnedFd>,
    /// The path it was opened at, for messages only: nothing is resolved through it.
    shown: PathBuf,
}

/// What an entry of a held directory is, by its own type (a link is a link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A symbolic link, a device, a socket, a FIFO: never entered or read.
    Other,
}

/// One entry of a held directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

/// A file's size and modification time, read without following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
}

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

fn refused(what: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, format!("{what}: {why}"))
}

/// A link met on the way (`ELOOP`, `EXDEV` from `RESOLVE_*`) said in words.
fn explain(error: rustix::io::Errno, what: &str) -> io::Error {
    match error {
        rustix::io::Errno::LOOP | rustix::io::Errno::XDEV => refused(
            what,
            "a symbolic link on the way: nothing is read or written through it",
        ),
        rustix::io::Errno::NOTDIR => refused(what, "is not a directory (a link or a file)"),
        e => io::Error::new(io::Error::from(e).kind(), format!("{what}: {e}")),
    }
}

/// `name` is one plain name: no `/`, not `.` or `..`, not empty.
pub fn plain_name(name: &str) -> io::Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(refused(name, "not one plain name"));
    }
    Ok(name)
}

/// `relative` is plain names joined by `/`, none of them `.` or `..`.
pub fn plain_relative(relative: &str) -> io::Result<&str> {
    if relative.split('/').any(|c| plain_name(c).is_err()) {
        return Err(refused(relative, "not a plain relative path"));
    }
    Ok(relative)
}

fn kind_of(file_type: FileType) -> Option<Kind> {
    match file_type {
        FileType::Directory => Some(Kind::Dir),
        FileType::RegularFile => Some(Kind::File),
        FileType::Unknown => None,
        _ => Some(Kind::Other),
    }
}

impl Held {
    /// Opens `path`, a path the function's configuration gives (the file system's mount),
    /// as a directory; its last component must not be a link.
    pub fn open(path: &Path) -> io::Result<Held> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| explain(e, &path.display().to_string()))?;
        Ok(Held {
            fd: Arc::new(fd),
            shown: path.to_path_buf(),
        })
    }

    /// The path it was opened at, for messages.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    fn shown(&self, relative: &str) -> String {
        self.shown.join(relative).display().to_string()
    }

    /// The directory `relative` beneath this one, through no link.
    pub fn dir(&self, relative: &str) -> io::Result<Held> {
        plain_relative(relative)?;
        let fd = rustix::fs::openat2(
            &*self.fd,
            relative,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| explain(e, &self.shown(relative)))?;
        Ok(Held {
            fd: Arc::new(fd),
            shown: self.shown.join(relative),
        })
    }

    /// [`Held::dir`], or `None` when nothing is there.
    pub fn dir_if_any(&self, relative: &str) -> io::Result<Option<Held>> {
        match self.dir(relative) {
            Ok(held) => Ok(Some(held)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The directory `name` in this one, made with `mode` and `owner` (set on its handle)
    /// if it is not there; a link or a file by that name is refused.
    pub fn ensure_dir(&self, name: &str, mode: u32, owner: Option<(u32, u32)>) -> io::Result<Held> {
        plain_name(name)?;
        match rustix::fs::mkdirat(&*self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => {
                let made = self.dir(name)?;
                rustix::fs::fchmod(&*made.fd, Mode::from_raw_mode(mode))?;
                if let Some((uid, gid)) = owner {
                    rustix::fs::fchown(&*made.fd, Some(uid_of(uid)), Some(gid_of(gid)))?;
                }
                Ok(made)
            }
            // Made meanwhile, or already there: opened through no link.
            Err(rustix::io::Errno::EXIST) => self.dir(name),
            Err(e) => Err(explain(e, &self.shown(name))),
        }
    }

    /// The regular file `relative` beneath this one, opened for reading through no link.
    pub fn file(&self, relative: &str) -> io::Result<File> {
        plain_relative(relative)?;
        let fd = rustix::fs::openat2(
            &*self.fd,
            relative,
            // O_NONBLOCK: a FIFO swapped in is refused below, never waited on.
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| explain(e, &self.shown(relative)))?;
        let file = File::from(fd);
        if !file.metadata()?.file_type().is_file() {
            return Err(refused(&self.shown(relative), "not a regular file"));
        }
        Ok(file)
    }

    /// A new file `name` in this directory, opened for writing with `mode` (set on its
    /// handle again, past the umask): never an existing file, never through a link.
    pub fn create_new(&self, name: &str, mode: u32) -> io::Result<File> {
        plain_name(name)?;
        let fd = rustix::fs::openat2(
            &*self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
            BENEATH,
        )
        .map_err(|e| explain(e, &self.shown(name)))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        Ok(File::from(fd))
    }

    /// Links the file `from` of this directory as `to` (never replacing anything there).
    pub fn link(&self, from: &str, to: &str) -> io::Result<()> {
        plain_name(from)?;
        plain_name(to)?;
        rustix::fs::linkat(&*self.fd, from, &*self.fd, to, AtFlags::empty()).map_err(|e| match e {
            rustix::io::Errno::EXIST => io::Error::from(io::ErrorKind::AlreadyExists),
            e => explain(e, &self.shown(to)),
        })
    }

    /// Removes the entry `name` of this directory, when it is not a directory.
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        plain_name(name)?;
        rustix::fs::unlinkat(&*self.fd, name, AtFlags::empty())
            .map_err(|e| explain(e, &self.shown(name)))
    }

    /// Removes `name` and, when it is a directory, everything beneath it, through no link
    /// (a link inside is removed as a link). Nothing there is not an error.
    pub fn remove_all(&self, name: &str) -> io::Result<()> {
        plain_name(name)?;
        let Some(stat) = self.stat(name)? else {
            return Ok(());
        };
        if stat.kind != Kind::Dir {
            return self.remove_file(name);
        }
        let dir = self.dir(name)?;
        for entry in dir.entries()? {
            let child = entry.name.to_string_lossy().into_owned();
            if entry.name.to_str().is_none() {
                return Err(refused(&dir.shown(&child), "a name that is not UTF-8"));
            }
            match entry.kind {
                Kind::Dir => dir.remove_all(&child)?,
                _ => dir.remove_file(&child)?,
            }
        }
        rustix::fs::unlinkat(&*self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| explain(e, &self.shown(name)))
    }

    /// Removes the directory `name` of this one when it is empty (and a directory).
    pub fn remove_empty_dir(&self, name: &str) -> io::Result<()> {
        plain_name(name)?;
        rustix::fs::unlinkat(&*self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| explain(e, &self.shown(name)))
    }

    /// Renames `from` of this directory to `to` of `into` (another held directory or this
    /// one): both plain names, so no link on the way is followed.
    pub fn rename(&self, from: &str, into: &Held, to: &str) -> io::Result<()> {
        plain_name(from)?;
        plain_name(to)?;
        rustix::fs::renameat(&*self.fd, from, &*into.fd, to)
            .map_err(|e| explain(e, &self.shown(from)))
    }

    /// The entry `name`'s own type, size and time (a link is a link), or `None`.
    pub fn stat(&self, name: &str) -> io::Result<Option<Stat>> {
        plain_name(name)?;
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            // The fields' types differ by architecture (x86_64, aarch64): cast on every one.
            #[allow(clippy::unnecessary_cast)]
            Ok(st) => Ok(Some(Stat {
                kind: kind_of(FileType::from_raw_mode(st.st_mode as _)).unwrap_or(Kind::Other),
                size: st.st_size as u64,
                mtime: st.st_mtime as i64,
                mtime_nsec: st.st_mtime_nsec as u32,
            })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(explain(e, &self.shown(name))),
        }
    }

    /// The entries of this directory (not `.` and `..`), each by its own type.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        let dir = rustix::fs::Dir::read_from(&*self.fd)?;
        for entry in dir {
            let entry = entry?;
            let bytes = entry.file_name().to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let name = OsString::from_vec(bytes.to_vec());
            let kind = match kind_of(entry.file_type()) {
                Some(kind) => kind,
                // A file system that does not say (d_type unknown): asked of the entry.
                None => match name.to_str() {
                    Some(n) => self.stat(n)?.map_or(Kind::Other, |s| s.kind),
                    None => Kind::Other,
                },
            };
            out.push(Entry { name, kind });
        }
        Ok(out)
    }

    /// A point where a test makes a race happen. A debug build, when this directory holds
    /// `.bbws-race/<point>` (only a root-mounted function's file system root can), reads
    /// its lines `swap <dir> <link target>`: renames `<dir>` (relative to this directory)
    /// to `<dir>.swapped-away` and puts a symbolic link to `<link target>` in its place, as
    /// a site racing the function would; then removes the hook, so it fires once. Release
    /// builds do nothing here.
    pub fn race_point(&self, point: &str) {
        #[cfg(debug_assertions)]
        if let Err(e) = self.fire_race_hook(point) {
            tracing::warn!(point, error = %e, "the race hook could not fire");
        }
        #[cfg(not(debug_assertions))]
        let _ = point;
    }

    #[cfg(debug_assertions)]
    fn fire_race_hook(&self, point: &str) -> io::Result<()> {
        use std::io::Read;
        let Some(hooks) = self.dir_if_any(RACE_HOOKS_DIR)? else {
            return Ok(());
        };
        let mut text = String::new();
        match hooks.file(plain_name(point)?) {
            Ok(mut f) => f.read_to_string(&mut text)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        hooks.remove_file(point)?;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some("swap"), Some(dir), Some(target)) =
                (words.next(), words.next(), words.next())
            {
                let (parent, name) = match dir.rsplit_once('/') {
                    Some((parent, name)) => (self.dir(parent)?, name),
                    None => (self.clone(), dir),
                };
                parent.rename(name, &parent, &format!("{name}.swapped-away"))?;
                rustix::fs::symlinkat(target, &*parent.fd, name)?;
                tracing::warn!(
                    point,
                    dir,
                    target,
                    "race hook: directory swapped for a link"
                );
            }
        }
        Ok(())
    }
}

impl AsFd for Held {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn uid_of(uid: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(gid)
}

/// Writes a race hook under `mount` (the file system's root) for [`Held::race_point`]:
/// at `point`, `dir` is swapped for a link to `target`. For tests.
pub fn set_race_hook(mount: &Path, point: &str, dir: &str, target: &str) -> io::Result<()> {
    let hooks = mount.join(RACE_HOOKS_DIR);
    std::fs::create_dir_all(&hooks)?;
    std::fs::write(hooks.join(point), format!("swap {dir} {target}\n"))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::{symlink, MetadataExt};

    use super::*;

    fn tree() -> tempfile::TempDir {
        let mount = tempfile::tempdir().unwrap();
        for t in ["tenant-a", "tenant-b"] {
            std::fs::create_dir_all(mount.path().join(t).join("uploads/2026")).unwrap();
            std::fs::write(mount.path().join(t).join("uploads/2026/f"), t).unwrap();
        }
        mount
    }

    #[test]
    fn a_link_anywhere_on_the_way_fails_the_step() {
        let mount = tree();
        std::fs::create_dir_all(mount.path().join("tenant-a/themes")).unwrap();
        symlink(
            "../tenant-b/uploads",
            mount.path().join("tenant-a/themes/x"),
        )
        .unwrap();
        symlink("/", mount.path().join("tenant-a/root")).unwrap();
        let a = Held::open(mount.path()).unwrap().dir("tenant-a").unwrap();
        for path in ["themes/x/2026/f", "root/etc/passwd", "themes/x"] {
            let e = a.file(path).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{path}: {e}");
        }
        assert!(a.dir("themes/x").is_err());
        assert!(a.file("../tenant-b/uploads/2026/f").is_err());
        let mut text = String::new();
        a.file("uploads/2026/f")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "tenant-a");
    }

    #[test]
    fn a_held_directory_stays_itself_when_its_path_is_swapped() {
        let mount = tree();
        let root = Held::open(mount.path()).unwrap();
        let uploads = root.dir("tenant-a/uploads").unwrap();
        set_race_hook(
            mount.path(),
            "test",
            "tenant-a/uploads",
            "../tenant-b/uploads",
        )
        .unwrap();
        root.race_point("test");
        assert!(
            std::fs::symlink_metadata(mount.path().join("tenant-a/uploads"))
                .unwrap()
                .file_type()
                .is_symlink(),
            "the hook swapped the directory"
        );
        // The handle still names tenant-a's directory, moved aside; the path now leads out.
        let mut file = uploads.dir("2026").unwrap().create_new("g", 0o644).unwrap();
        file.write_all(b"x").unwrap();
        assert!(mount
            .path()
            .join("tenant-a/uploads.swapped-away/2026/g")
            .exists());
        assert!(!mount.path().join("tenant-b/uploads/2026/g").exists());
        // Resolving the path again from the tenant's root meets the link and stops.
        let a = root.dir("tenant-a").unwrap();
        assert!(a.dir("uploads/2026").is_err());
        assert!(a.file("uploads/2026/f").is_err());
        assert!(
            !mount.path().join(RACE_HOOKS_DIR).join("test").exists(),
            "fires once"
        );
    }

    #[test]
    fn directories_made_get_their_mode_on_the_handle_and_links_are_refused() {
        let mount = tree();
        let a = Held::open(mount.path()).unwrap().dir("tenant-a").unwrap();
        let made = a.ensure_dir("new", 0o755, None).unwrap();
        assert_eq!(
            std::fs::metadata(mount.path().join("tenant-a/new"))
                .unwrap()
                .mode()
                & 0o777,
            0o755
        );
        assert!(made.entries().unwrap().is_empty());
        symlink("../tenant-b", mount.path().join("tenant-a/linked")).unwrap();
        assert!(a.ensure_dir("linked", 0o755, None).is_err());
        symlink("../tenant-b/x", mount.path().join("tenant-a/t")).unwrap();
        assert!(a.create_new("t", 0o644).is_err());
        assert!(!mount.path().join("tenant-b/x").exists());
    }

    #[test]
    fn removal_stays_beneath_and_removes_links_as_links() {
        let mount = tree();
        std::fs::create_dir_all(mount.path().join("scratch/d")).unwrap();
        std::fs::write(mount.path().join("scratch/d/f"), "x").unwrap();
        symlink("../tenant-b", mount.path().join("scratch/d/out")).unwrap();
        let root = Held::open(mount.path()).unwrap();
        root.remove_all("scratch").unwrap();
        assert!(!mount.path().join("scratch").exists());
        assert!(mount.path().join("tenant-b/uploads/2026/f").exists());
        root.remove_all("scratch").unwrap();
    }

    #[test]
    fn entries_say_their_own_type_and_stat_does_not_follow() {
        let mount = tree();
        let a = Held::open(mount.path()).unwrap().dir("tenant-a").unwrap();
        symlink("uploads", mount.path().join("tenant-a/l")).unwrap();
        let mut entries = a.entries().unwrap();
        entries.sort_by(|x, y| x.name.cmp(&y.name));
        let kinds: Vec<_> = entries.iter().map(|e| (e.name.clone(), e.kind)).collect();
        assert_eq!(
            kinds,
            [("l".into(), Kind::Other), ("uploads".into(), Kind::Dir)]
        );
        assert_eq!(a.stat("l").unwrap().unwrap().kind, Kind::Other);
        assert!(a.stat("none").unwrap().is_none());
        assert!(plain_relative("a//b").is_err() && plain_name("..").is_err());
    }
}
