//! ElastiCache's RBAC as the local redis-server enforces it. moto keeps users
//! (`CreateUser`, `DescribeUsers`, `DeleteUser`) but has no user groups, and nothing of it
//! reaches a Redis. The front keeps each user's access string and passwords from the
//! `CreateUser` moto accepted, serves the user-group calls itself, and sets a user on the
//! local redis-server (`ACL SETUSER`, then `ACL SAVE` to its ACL file) once it is in a group,
//! or removes it (`ACL DELUSER`) once it leaves: a user's access string applies on a cache
//! only through the user group the cache uses
//! (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html).
//!
//! The front reaches redis-server on its Unix socket as the stand-in's own administrator
//! (`bbws-local-admin`, in the ACL file `scripts/local-cache.sh` writes), which no tenant or
//! function is given.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hyper::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::web::{self, Reply};
use crate::xml::escape;

/// ElastiCache's default quota, "Users per user group: 100"
/// (https://docs.aws.amazon.com/general/latest/gr/elasticache-service.html).
const USERS_PER_USER_GROUP: usize = 100;
const ADMIN: &str = "bbws-local-admin";
const XMLNS: &str = "http://elasticache.amazonaws.com/doc/2015-02-02/";

/// The user-group calls the front answers itself.
pub fn served(action: &str) -> bool {
    matches!(
        action,
        "CreateUserGroup" | "ModifyUserGroup" | "DescribeUserGroups" | "DeleteUserGroup"
    )
}

/// A user as `CreateUser` made it.
#[derive(Clone, Debug)]
struct User {
    name: String,
    access: String,
    passwords: Vec<String>,
    no_password: bool,
}

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    groups: BTreeMap<String, Vec<String>>,
}

pub struct Rbac {
    /// `scripts/local-cache.sh`'s directory: `redis.sock` and `admin-token` in it.
    cache_dir: Option<PathBuf>,
    state: Mutex<State>,
}

type Params = HashMap<String, String>;

pub fn params(body: &[u8]) -> Params {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `Name.member.1`, `Name.member.2`, … in order.
fn members(p: &Params, name: &str) -> Vec<String> {
    (1..)
        .map_while(|i| p.get(&format!("{name}.member.{i}")).cloned())
        .collect()
}

fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    web::xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            escape(message),
            uuid::Uuid::new_v4()
        ),
    )
}

fn group_xml(id: &str, users: &[String], region: &str) -> String {
    let members: String = users
        .iter()
        .map(|u| format!("<member>{}</member>", escape(u)))
        .collect();
    format!(
        "<UserGroupId>{id}</UserGroupId><Status>active</Status><Engine>redis</Engine>\
         <UserIds>{members}</UserIds><MinimumEngineVersion>6.0</MinimumEngineVersion>\
         <ReplicationGroups/><ARN>arn:aws:elasticache:{region}:123456789012:usergroup:{id}</ARN>",
        id = escape(id)
    )
}

fn answer(action: &str, result: String) -> Reply {
    web::xml(
        StatusCode::OK,
        format!(
            "<{action}Response xmlns=\"{XMLNS}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
            uuid::Uuid::new_v4()
        ),
    )
}

impl Rbac {
    pub fn new(cache_dir: Option<PathBuf>) -> Self {
        Rbac {
            cache_dir,
            state: Mutex::new(State::default()),
        }
    }

    /// After moto accepted a `CreateUser`: what the user may do, for when it joins a group.
    pub fn user_created(&self, p: &Params) {
        let (Some(id), Some(name), Some(access)) =
            (p.get("UserId"), p.get("UserName"), p.get("AccessString"))
        else {
            return;
        };
        let user = User {
            name: name.clone(),
            access: access.clone(),
            passwords: members(p, "Passwords"),
            no_password: p.get("NoPasswordRequired").is_some_and(|v| v == "true"),
        };
        self.state.lock().unwrap().users.insert(id.clone(), user);
    }

    /// After moto deleted a user: it leaves every group, and the cache.
    pub async fn user_deleted(&self, p: &Params) {
        let Some(id) = p.get("UserId") else { return };
        let name = {
            let mut state = self.state.lock().unwrap();
            let mut member = false;
            for users in state.groups.values_mut() {
                member |= users.contains(id);
                users.retain(|u| u != id);
            }
            state.users.remove(id).filter(|_| member).map(|u| u.name)
        };
        if let Some(name) = name {
            if let Err(e) = self.apply(vec![acl_deluser(&name)]).await {
                tracing::warn!(user = %id, "the deleted user stays on redis-server: {e}");
            }
        }
    }

    /// One user-group call, answered as ElastiCache answers it.
    pub async fn handle(&self, action: &str, region: &str, p: &Params) -> Reply {
        let group = p.get("UserGroupId").cloned().unwrap_or_default();
        let planned = {
            let mut state = self.state.lock().unwrap();
            match self.plan(&mut state, action, &group, p) {
                Ok(planned) => planned,
                Err(reply) => return reply,
            }
        };
        let (result, commands) = planned;
        if !commands.is_empty() {
            if let Err(e) = self.apply(commands).await {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalFailure",
                    &format!("the local redis-server did not take the users: {e}"),
                );
            }
        }
        let state = self.state.lock().unwrap();
        let body = match result {
            Planned::Group(id) => group_xml(&id, &state.groups[&id], region),
            Planned::Deleted(id, users) => group_xml(&id, &users, region),
            Planned::Groups(ids) => format!(
                "<UserGroups>{}</UserGroups>",
                ids.iter()
                    .map(|id| format!(
                        "<member>{}</member>",
                        group_xml(id, &state.groups[id], region)
                    ))
                    .collect::<String>()
            ),
        };
        answer(action, body)
    }

    /// Validates and records the call; returns what to answer and the ACL commands to send.
    #[allow(clippy::result_large_err)]
    fn plan(
        &self,
        state: &mut State,
        action: &str,
        group: &str,
        p: &Params,
    ) -> Result<(Planned, Vec<Vec<String>>), Reply> {
        let not_found = || {
            error(
                StatusCode::NOT_FOUND,
                "UserGroupNotFound",
                &format!("User group {group} not found."),
            )
        };
        match action {
            "DescribeUserGroups" => {
                if !group.is_empty() && !state.groups.contains_key(group) {
                    return Err(not_found());
                }
                let ids = state
                    .groups
                    .keys()
                    .filter(|g| group.is_empty() || *g == group)
                    .cloned()
                    .collect();
                Ok((Planned::Groups(ids), vec![]))
            }
            "CreateUserGroup" => {
                if state.groups.contains_key(group) {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "UserGroupAlreadyExists",
                        &format!("User group {group} already exists."),
                    ));
                }
                let users = members(p, "UserIds");
                let commands = check_members(state, &users)?;
                state.groups.insert(group.to_owned(), users);
                Ok((Planned::Group(group.to_owned()), commands))
            }
            "ModifyUserGroup" => {
                let Some(current) = state.groups.get(group).cloned() else {
                    return Err(not_found());
                };
                let add = members(p, "UserIdsToAdd");
                let remove = members(p, "UserIdsToRemove");
                let mut users: Vec<String> = current
                    .iter()
                    .filter(|u| !remove.contains(u))
                    .cloned()
                    .collect();
                for u in &add {
                    if !users.contains(u) {
                        users.push(u.clone());
                    }
                }
                for u in add.iter().chain(&remove) {
                    if !state.users.contains_key(u) {
                        return Err(error(
                            StatusCode::NOT_FOUND,
                            "UserNotFound",
                            &format!("User {u} not found."),
                        ));
                    }
                }
                let mut commands = check_members(state, &users)?;
                // Only the users that join are (re)set; those that leave are removed.
                commands.retain(|c| add.iter().any(|u| state.users[u].name == c[2]));
                for u in remove.iter().filter(|u| current.contains(u)) {
                    commands.push(acl_deluser(&state.users[u].name));
                }
                state.groups.insert(group.to_owned(), users);
                Ok((Planned::Group(group.to_owned()), commands))
            }
            "DeleteUserGroup" => {
                let Some(users) = state.groups.remove(group) else {
                    return Err(not_found());
                };
                let commands = users
                    .iter()
                    .filter_map(|u| state.users.get(u))
                    .map(|u| acl_deluser(&u.name))
                    .collect();
                Ok((Planned::Deleted(group.to_owned(), users), commands))
            }
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("{action} is not served here"),
            )),
        }
    }

    /// Sends `commands` to redis-server as its administrator, then saves its ACL file.
    async fn apply(&self, mut commands: Vec<Vec<String>>) -> Result<(), String> {
        let dir = self
            .cache_dir
            .as_deref()
            .ok_or("the front was started without --cache-dir")?;
        let token = std::fs::read_to_string(dir.join("admin-token"))
            .map_err(|e| format!("{}: {e}", dir.join("admin-token").display()))?;
        commands.insert(
            0,
            vec!["AUTH".into(), ADMIN.into(), token.trim().to_owned()],
        );
        commands.push(vec!["ACL".into(), "SAVE".into()]);
        send(&dir.join("redis.sock"), &commands).await
    }
}

enum Planned {
    Group(String),
    Deleted(String, Vec<String>),
    Groups(Vec<String>),
}

/// AWS's refusals for a group's member list: every user exists, one of them is named
/// `default` ("A user named default must be included":
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-elasticache-usergroup.html),
/// no user name twice, at most the quota; then each member's `ACL SETUSER`.
#[allow(clippy::result_large_err)]
fn check_members(state: &State, users: &[String]) -> Result<Vec<Vec<String>>, Reply> {
    let mut names = Vec::new();
    for u in users {
        let Some(user) = state.users.get(u) else {
            return Err(error(
                StatusCode::NOT_FOUND,
                "UserNotFound",
                &format!("User {u} not found."),
            ));
        };
        if names.contains(&user.name) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "DuplicateUserName",
                &format!("User name {} is used by two users of the group.", user.name),
            ));
        }
        names.push(user.name.clone());
    }
    if !names.iter().any(|n| n == "default") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "DefaultUserRequired",
            "A user group must contain a user named default.",
        ));
    }
    if users.len() > USERS_PER_USER_GROUP {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "UserGroupQuotaExceeded",
            &format!("A user group holds at most {USERS_PER_USER_GROUP} users."),
        ));
    }
    Ok(users.iter().map(|u| acl_setuser(&state.users[u])).collect())
}

/// `ACL SETUSER <name> reset <access string…> ><password>…`: `reset` first, so the user is
/// exactly what its access string says.
fn acl_setuser(user: &User) -> Vec<String> {
    let mut command = vec![
        "ACL".into(),
        "SETUSER".into(),
        user.name.clone(),
        "reset".into(),
    ];
    command.extend(user.access.split_whitespace().map(str::to_owned));
    if user.no_password {
        command.push("nopass".into());
    }
    command.extend(user.passwords.iter().map(|p| format!(">{p}")));
    command
}

fn acl_deluser(name: &str) -> Vec<String> {
    vec!["ACL".into(), "DELUSER".into(), name.to_owned()]
}

/// Sends each command (RESP arrays) and reads its one-line answer; the first error ends it.
async fn send(socket: &Path, commands: &[Vec<String>]) -> Result<(), String> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    for command in commands {
        let mut out = format!("*{}\r\n", command.len()).into_bytes();
        for arg in command {
            out.extend(format!("${}\r\n", arg.len()).as_bytes());
            out.extend(arg.as_bytes());
            out.extend(b"\r\n");
        }
        write.write_all(&out).await.map_err(|e| e.to_string())?;
        let mut line = String::new();
        lines
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        // AUTH's arguments are never repeated: the answer names only the command.
        if !line.starts_with('+') && !line.starts_with(':') {
            return Err(format!(
                "{} {}: {}",
                command[0],
                command.get(1).map_or("", |s| s),
                line.trim()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(rbac: &Rbac, id: &str, name: &str, access: &str) {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "CreateUser")
            .append_pair("UserId", id)
            .append_pair("UserName", name)
            .append_pair("Engine", "redis")
            .append_pair("AccessString", access)
            .append_pair("Passwords.member.1", "secret-password-123")
            .finish();
        rbac.user_created(&params(body.as_bytes()));
    }

    #[test]
    fn a_users_acl_is_reset_to_its_access_string_with_its_passwords() {
        let rbac = Rbac::new(None);
        created(
            &rbac,
            "u-1",
            "tenant-1",
            "on ~tenant-1:* -@all +@read -@dangerous",
        );
        let state = rbac.state.lock().unwrap();
        assert_eq!(
            acl_setuser(&state.users["u-1"]),
            [
                "ACL",
                "SETUSER",
                "tenant-1",
                "reset",
                "on",
                "~tenant-1:*",
                "-@all",
                "+@read",
                "-@dangerous",
                ">secret-password-123"
            ]
        );
    }

    #[test]
    fn a_group_without_a_default_user_or_with_an_unknown_user_is_refused() {
        let rbac = Rbac::new(None);
        created(&rbac, "u-1", "tenant-1", "on ~tenant-1:* -@all");
        let mut state = rbac.state.lock().unwrap();
        let p = params(b"Action=CreateUserGroup&UserGroupId=g&Engine=redis&UserIds.member.1=u-1");
        let refused = rbac
            .plan(&mut state, "CreateUserGroup", "g", &p)
            .err()
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let p =
            params(b"Action=CreateUserGroup&UserGroupId=g&Engine=redis&UserIds.member.1=nobody");
        let refused = rbac
            .plan(&mut state, "CreateUserGroup", "g", &p)
            .err()
            .unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(state.groups.is_empty());
    }
}
