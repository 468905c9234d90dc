//! An operator's requests from inside the room (docs/protocol.md §10.7):
//! `kick`, `ban`, `unban`, `mute`, `unmute` and `bans`, each checked for
//! the right on every request (`not_operator`), never against another
//! operator (`forbidden`), and carried out as the admin's orders are
//! (through `crate::cluster::Peers`). The answer is the room's
//! `moderation` event, whose `by` is the operator; a refusal is an
//! `error`. Each is logged with the operator as the actor.

use std::sync::atomic::Ordering;

use chat_protocol::{BanTarget, ClientEvent, ErrorCode, ServerEvent};

use super::Parts;
use crate::hub::Member;
use crate::moderation::ChangeError;
use crate::ops::moderate::{Actor, BanOrder, MuteOrder};

/// Carries out `event`, one of the moderation requests, for `member`.
pub async fn request(event: ClientEvent, member: &Member, parts: &Parts) {
    if let Err((code, message)) = answer(event, member, parts).await {
        parts.metrics.messages_refused.inc(code.into());
        member.send(&ServerEvent::Error {
            room: None,
            code,
            message,
            until: None,
        });
    }
}

fn refused(e: ChangeError) -> (ErrorCode, String) {
    let code = match &e {
        ChangeError::Refused(code, _) => match *code {
            "not_banned" => ErrorCode::NotBanned,
            "not_muted" => ErrorCode::NotMuted,
            "no_such_user" => ErrorCode::NoSuchUser,
            "forbidden" => ErrorCode::Forbidden,
            "bad_request" => ErrorCode::BadEvent,
            _ => ErrorCode::Other,
        },
        _ => ErrorCode::Other,
    };
    (code, e.to_string())
}

/// Refuses a request on an operator (only the admin acts on them).
fn not_on_an_operator(parts: &Parts, name: &str) -> Result<(), (ErrorCode, String)> {
    if parts.moderating.moderation.is_operator(name) {
        return Err((
            ErrorCode::Forbidden,
            format!("{name} is an operator; only the server's admin acts on operators"),
        ));
    }
    Ok(())
}

/// Checks a reason with the text's codes.
fn reason_ok(reason: Option<&str>) -> Result<(), (ErrorCode, String)> {
    reason.map_or(Ok(()), chat_protocol::validate_reason)
}

async fn answer(
    event: ClientEvent,
    member: &Member,
    parts: &Parts,
) -> Result<(), (ErrorCode, String)> {
    if !member.op.load(Ordering::Relaxed) {
        return Err((
            ErrorCode::NotOperator,
            "only the room's operators may do that".into(),
        ));
    }
    let m = &parts.moderating;
    let actor = Actor::Operator(member.name.clone());
    // Recorded as the admin's acts are: with the reason and the end.
    let done = |what: &str, target: &str, reason: Option<&str>, until: Option<u64>| {
        m.record(&actor, what, target, reason, until);
    };
    match event {
        ClientEvent::Kick { name, reason } => {
            reason_ok(reason.as_deref())?;
            not_on_an_operator(parts, &name)?;
            let shown = reason.unwrap_or_default();
            parts
                .peers
                .kick(&m.hub, &name, &shown, Some(member.name.clone()))
                .await
                .map_err(|_| crate::hub::no_such_user(&name))?;
            done(
                "kick",
                &name,
                (!shown.is_empty()).then_some(shown.as_str()),
                None,
            );
        }
        ClientEvent::Ban {
            target,
            for_secs,
            reason,
        } => {
            reason_ok(reason.as_deref())?;
            if let BanTarget::Name(name) = &target {
                not_on_an_operator(parts, name)?;
            }
            let order = BanOrder {
                target,
                for_secs,
                reason,
                actor: actor.clone(),
            };
            let (ban, _) = parts.peers.ban(m, order).await.map_err(refused)?;
            done(
                "ban",
                &ban.target.to_string(),
                ban.reason.as_deref(),
                ban.until,
            );
        }
        ClientEvent::Unban { target } => {
            if !target.is_name() {
                return Err((
                    ErrorCode::Forbidden,
                    "operators lift bans of names only".into(),
                ));
            }
            parts
                .peers
                .unban(m, &target, &actor)
                .await
                .map_err(refused)?;
            done("unban", &target.to_string(), None, None);
        }
        ClientEvent::Mute {
            name,
            for_secs,
            reason,
        } => {
            reason_ok(reason.as_deref())?;
            not_on_an_operator(parts, &name)?;
            let order = MuteOrder {
                name: name.clone(),
                for_secs,
                reason,
                actor: actor.clone(),
            };
            let mute = parts.peers.mute(m, order).await.map_err(refused)?;
            done("mute", &name, mute.reason.as_deref(), mute.until);
        }
        ClientEvent::Unmute { name } => {
            parts
                .peers
                .unmute(m, &name, &actor)
                .await
                .map_err(refused)?;
            done("unmute", &name, None, None);
        }
        ClientEvent::Bans => {
            let now = chat_protocol::clock::now_ms();
            let bans = m
                .moderation
                .book()
                .bans
                .iter()
                .filter(|b| b.in_force(now))
                .filter_map(|b| b.to_wire())
                .collect();
            member.send(&ServerEvent::Bans { bans });
        }
        _ => {}
    }
    Ok(())
}
