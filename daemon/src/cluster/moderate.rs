//! A moderation order carried out, alone or in a cluster: held to the
//! rules (`crate::ops::moderate`), what a ban by name takes in looked up
//! (the name's registered keys, through the registry wherever it is kept),
//! the book changed through [`Peers::change_moderation`], and the change
//! put in force here at once (the other nodes put it in force as they
//! learn of it, `super::moderation`).

use chat_protocol::BanTarget;
use chat_protocol::clock::now_ms;

use super::Peers;
use crate::hub::Holder;
use crate::moderation::ChangeError;
use crate::moderation::ban::BanRecord;
use crate::moderation::mute::{MuteRecord, key_of};
use crate::ops::moderate::{self, Actor, BanOrder, Moderating, MuteOrder};

impl Peers {
    /// Bans as `order` says: the ban in force, and the sessions it ended
    /// here.
    pub async fn ban(
        &self,
        m: &Moderating,
        order: BanOrder,
    ) -> Result<(BanRecord, usize), ChangeError> {
        order.check(m)?;
        let mut also = Vec::new();
        if let BanTarget::Name(name) = &order.target {
            // A registered name bans its keys; an unregistered one the
            // identity (and, for the admin, the address) of its session.
            let record = self
                .registered(&m.registry, name)
                .await
                .map_err(ChangeError::Unavailable)?;
            match record {
                Some(record) => {
                    also.extend(record.keys.iter().map(|k| BanTarget::Key(k.fingerprint())));
                }
                None => {
                    let admin = matches!(order.actor, Actor::Admin { .. });
                    also = moderate::session_covers(m, name, admin);
                    if let (Peers::Cluster(node), None) = (self, m.hub.member(name)) {
                        // On another node: its claim names the identity,
                        // its node's users answer the address.
                        if let Some((identity, ip)) =
                            super::admin::session_elsewhere(node, name, admin).await
                        {
                            also = moderate::covers(m, identity, ip, admin);
                        }
                    }
                }
            }
        }
        let ban = order.record(also, now_ms());
        moderate::expect_banned_leaves(&m.hub, &ban);
        let changed = self
            .change_moderation(&m.moderation, &m.hub, |book| {
                moderate::put_ban(book, ban.clone())?;
                book.lifted_by = None;
                Ok(())
            })
            .await?;
        Ok((ban, changed.ended))
    }

    /// Lifts the ban of `target`: the ban lifted. An operator may lift
    /// only an operator's bans.
    pub async fn unban(
        &self,
        m: &Moderating,
        target: &BanTarget,
        actor: &Actor,
    ) -> Result<BanRecord, ChangeError> {
        let op = actor.op();
        let operator = op.is_some();
        // What the change took out, as the change saw it (it may run again
        // on a newer book).
        let lifted = std::sync::Mutex::new(None);
        self.change_moderation(&m.moderation, &m.hub, |book| {
            let ban = moderate::take_ban(book, target)?;
            if operator && ban.op.is_none() {
                return Err(ChangeError::Refused(
                    "forbidden",
                    format!("{target} was banned by the server's admin, who alone may lift it"),
                ));
            }
            book.lifted_by = op.clone();
            *lifted.lock().expect("lock") = Some(ban);
            Ok(())
        })
        .await?;
        let lifted = lifted
            .into_inner()
            .expect("lock")
            .expect("a change that succeeded took a ban out");
        Ok(lifted)
    }

    /// Mutes as `order` says: a registered name by its keys, else the
    /// session online by its identity, or by its name and address without
    /// one (`no_such_user` for a name neither registered nor online).
    pub async fn mute(&self, m: &Moderating, order: MuteOrder) -> Result<MuteRecord, ChangeError> {
        order.check()?;
        let record = self
            .registered(&m.registry, &order.name)
            .await
            .map_err(ChangeError::Unavailable)?;
        let (keys, addr) = match (record, m.hub.holder(&order.name)) {
            (Some(record), _) => (
                record
                    .keys
                    .iter()
                    .map(|k| key_of(k.fingerprint()))
                    .collect(),
                None,
            ),
            (None, Some(Holder::Here(Some(k)) | Holder::Elsewhere(Some(k)))) => {
                (vec![key_of(k.fingerprint())], None)
            }
            (None, Some(Holder::Here(None))) => (
                Vec::new(),
                m.hub.member(&order.name).map(|member| member.addr.ip()),
            ),
            (None, Some(Holder::Elsewhere(None))) => (Vec::new(), None),
            (None, None) => {
                return Err(ChangeError::Refused(
                    "no_such_user",
                    format!(
                        "{} is neither online nor registered; a mute silences someone who is",
                        order.name
                    ),
                ));
            }
        };
        if let (Actor::Operator(_), Some(held)) = (
            &order.actor,
            m.moderation
                .book()
                .mutes
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(&order.name)),
        ) && held.op.is_none()
        {
            return Err(ChangeError::Refused(
                "forbidden",
                format!(
                    "{} was muted by the server's admin, who alone may change it",
                    order.name
                ),
            ));
        }
        let mute = order.record(keys, addr, chat_protocol::clock::now_ms());
        self.change_moderation(&m.moderation, &m.hub, |book| {
            moderate::put_mute(book, mute.clone())?;
            book.lifted_by = None;
            Ok(())
        })
        .await?;
        Ok(mute)
    }

    /// Lifts the mute of `name`: the mute lifted. An operator may lift
    /// only an operator's mutes.
    pub async fn unmute(
        &self,
        m: &Moderating,
        name: &str,
        actor: &Actor,
    ) -> Result<MuteRecord, ChangeError> {
        let op = actor.op();
        let lifted = std::sync::Mutex::new(None);
        self.change_moderation(&m.moderation, &m.hub, |book| {
            let mute = moderate::take_mute(book, name)?;
            if op.is_some() && mute.op.is_none() {
                return Err(ChangeError::Refused(
                    "forbidden",
                    format!("{name} was muted by the server's admin, who alone may lift it"),
                ));
            }
            book.lifted_by = op.clone();
            *lifted.lock().expect("lock") = Some(mute);
            Ok(())
        })
        .await?;
        Ok(lifted
            .into_inner()
            .expect("lock")
            .expect("a change that succeeded took a mute out"))
    }

    /// Makes `name` an operator of the room (`op`; a registered name only,
    /// so that its rights follow its keys) or not. Told to the room; the
    /// sessions of the name that proved one of its keys get or lose the
    /// rights at once.
    pub async fn set_operator(
        &self,
        m: &Moderating,
        name: &str,
        op: bool,
    ) -> Result<(), ChangeError> {
        if !chat_protocol::valid_username(name) {
            return Err(ChangeError::Refused(
                "bad_request",
                "a name is 1 to 32 of A-Z a-z 0-9 _ . -".into(),
            ));
        }
        if op {
            let record = self
                .registered(&m.registry, name)
                .await
                .map_err(ChangeError::Unavailable)?;
            if record.is_none() {
                return Err(ChangeError::Refused(
                    "not_registered",
                    format!(
                        "{name} is not registered: an operator's rights follow the name's keys \
                         (register one with `chatctl names add {name} KEY`)"
                    ),
                ));
            }
        }
        self.change_moderation(&m.moderation, &m.hub, |book| {
            moderate::set_operator(book, name, op)
        })
        .await?;
        Ok(())
    }
}
