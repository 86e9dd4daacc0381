//! The CRM's staff, sessions, settings, interactions and tasks, and the outbox
//! writer every CRM change that tells someone goes through.

use crate::crm_model::*;
use crate::sql::{from_micros, parse_col};
use crate::StoreError;

pub(crate) const STAFF_COLUMNS: &str =
    "id, program_id, username, name, role, password_hash, status, created_at, last_login_at, locale";

#[derive(sqlx::FromRow)]
pub(crate) struct StaffRow {
    pub id: String,
    pub program_id: String,
    pub username: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub status: String,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub locale: Option<String>,
}

impl StaffRow {
    pub(crate) fn member(&self) -> Result<StaffMember, StoreError> {
        Ok(StaffMember {
            id: self.id.clone(),
            username: self.username.clone(),
            name: self.name.clone(),
            role: parse_col("role", &self.role)?,
            status: self.status.clone(),
            created_at: from_micros(self.created_at)?,
            last_login_at: self.last_login_at.map(from_micros).transpose()?,
            locale: self
                .locale
                .as_deref()
                .map(|l| parse_col("locale", l))
                .transpose()?,
        })
    }
}

pub(crate) const INTERACTION_COLUMNS: &str = "id, customer_id, kind, direction, outcome, summary, staff_id, ticket_id, order_id, campaign_id, occurred_at, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct InteractionRow {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub direction: String,
    pub outcome: Option<String>,
    pub summary: Option<String>,
    pub staff_id: Option<String>,
    pub ticket_id: Option<String>,
    pub order_id: Option<String>,
    pub campaign_id: Option<String>,
    pub occurred_at: i64,
    pub created_at: i64,
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = StoreError;
    fn try_from(r: InteractionRow) -> Result<Self, StoreError> {
        Ok(Interaction {
            kind: parse_col("kind", &r.kind)?,
            direction: parse_col("direction", &r.direction)?,
            occurred_at: from_micros(r.occurred_at)?,
            created_at: from_micros(r.created_at)?,
            id: r.id,
            customer_id: r.customer_id,
            outcome: r.outcome,
            summary: r.summary,
            staff_id: r.staff_id,
            ticket_id: r.ticket_id,
            order_id: r.order_id,
            campaign_id: r.campaign_id,
        })
    }
}

pub(crate) const TASK_COLUMNS: &str = "id, customer_id, kind, title, notes, assignee_id, ticket_id, due_at, remind_at, status, created_by, created_at, closed_at, closed_by, close_note";

#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub notes: Option<String>,
    pub assignee_id: Option<String>,
    pub ticket_id: Option<String>,
    pub due_at: i64,
    pub remind_at: Option<i64>,
    pub status: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub close_note: Option<String>,
}

impl TaskRow {
    pub(crate) fn task(self, now: jiff::Timestamp) -> Result<Task, StoreError> {
        let status: vafa_core::crm::TaskStatus = parse_col("status", &self.status)?;
        let due_at = from_micros(self.due_at)?;
        Ok(Task {
            kind: parse_col("kind", &self.kind)?,
            overdue: status == vafa_core::crm::TaskStatus::Open && due_at < now,
            status,
            due_at,
            remind_at: self.remind_at.map(from_micros).transpose()?,
            created_at: from_micros(self.created_at)?,
            closed_at: self.closed_at.map(from_micros).transpose()?,
            id: self.id,
            customer_id: self.customer_id,
            title: self.title,
            notes: self.notes,
            assignee_id: self.assignee_id,
            ticket_id: self.ticket_id,
            created_by: self.created_by,
            closed_by: self.closed_by,
            close_note: self.close_note,
        })
    }
}

/// The working calendar of a program: its week, holidays and zone.
pub(crate) fn calendar(
    settings: &CrmSettings,
    holidays: &[(String,)],
    timezone: &str,
) -> Result<vafa_core::crm::BusinessCalendar, StoreError> {
    let tz = jiff::tz::TimeZone::get(timezone)
        .map_err(|e| StoreError::Corrupt(format!("time zone {timezone}: {e}")))?;
    let days = holidays
        .iter()
        .map(|(d,)| parse_col::<jiff::civil::Date>("day", d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vafa_core::crm::BusinessCalendar::new(
        settings.week.clone(),
        days,
        tz,
    ))
}

macro_rules! crm_ops {
    ($db:ty, $lock:literal) => {
        impl SqlStore<$db> {
            // ---- staff and sessions ----

            pub(crate) async fn create_staff_op(&self, ctx: &Ctx, s: &NewStaff) -> Result<StaffMember> {
                let mut tx = self.begin_write().await?;
                let id = new_id(ids::STAFF);
                let inserted = sqlx::query(
                    "INSERT INTO staff (id, program_id, username, name, role, password_hash, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(&s.username)
                .bind(&s.name)
                .bind(s.role.as_str())
                .bind(&s.password_hash)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await;
                if let Err(e) = inserted {
                    return Err(match &e {
                        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::DuplicateUsername,
                        _ => StoreError::Database(e),
                    });
                }
                let summary = serde_json::json!({"username": s.username, "name": s.name, "role": s.role.as_str()});
                Self::audit(&mut tx, ctx, "staff.created", "staff", &id, summary).await?;
                let row = Self::staff_row(&mut tx, "id", &id).await?.ok_or(StoreError::NotFound("staff member"))?;
                tx.commit().await?;
                row.member()
            }

            async fn staff_row(
                conn: &mut <$db as sqlx::Database>::Connection,
                column: &str,
                value: &str,
            ) -> Result<Option<crate::sql::crm::StaffRow>> {
                let sql = format!("SELECT {} FROM staff WHERE {column} = $1", crate::sql::crm::STAFF_COLUMNS);
                Ok(sqlx::query_as(&sql).bind(value).fetch_optional(&mut *conn).await?)
            }

            pub(crate) async fn list_staff_op(&self, program_id: &str) -> Result<Vec<StaffMember>> {
                let sql = format!("SELECT {} FROM staff WHERE program_id = $1 ORDER BY name, id", crate::sql::crm::STAFF_COLUMNS);
                let rows: Vec<crate::sql::crm::StaffRow> = sqlx::query_as(&sql).bind(program_id).fetch_all(&self.read).await?;
                rows.iter().map(|r| r.member()).collect()
            }

            pub(crate) async fn get_staff_op(&self, program_id: &str, id: &str) -> Result<Option<StaffMember>> {
                let mut conn = self.read.acquire().await?;
                match Self::staff_row(&mut conn, "id", id).await? {
                    Some(r) if r.program_id == program_id => Ok(Some(r.member()?)),
                    _ => Ok(None),
                }
            }

            pub(crate) async fn update_staff_op(&self, ctx: &Ctx, id: &str, p: &StaffPatch) -> Result<StaffMember> {
                let mut tx = self.begin_write().await?;
                let row = match Self::staff_row(&mut tx, "id", id).await? {
                    Some(r) if r.program_id == ctx.program_id => r,
                    _ => return Err(StoreError::NotFound("staff member")),
                };
                let status = match p.disabled {
                    Some(true) => "disabled",
                    Some(false) => "active",
                    None => row.status.as_str(),
                };
                let locale = match p.locale {
                    Some(l) => l.map(|l| l.as_str()),
                    None => row.locale.as_deref(),
                };
                sqlx::query("UPDATE staff SET name = $1, role = $2, status = $3, password_hash = $4, updated_at = $5, locale = $6 WHERE id = $7")
                    .bind(p.name.as_deref().unwrap_or(&row.name))
                    .bind(p.role.map(|r| r.as_str()).unwrap_or(&row.role))
                    .bind(status)
                    .bind(p.password_hash.as_deref().unwrap_or(&row.password_hash))
                    .bind(micros(ctx.now))
                    .bind(locale)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                // A new password, a new role or a disabled account ends every session.
                if p.password_hash.is_some() || p.role.is_some() || p.disabled == Some(true) {
                    sqlx::query("UPDATE staff_sessions SET ended_at = $1 WHERE staff_id = $2 AND ended_at IS NULL")
                        .bind(micros(ctx.now))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                let summary = serde_json::json!({
                    "name": p.name, "role": p.role.map(|r| r.as_str()), "disabled": p.disabled,
                    "password_changed": p.password_hash.is_some(), "locale": p.locale.map(|l| l.map(|l| l.as_str())),
                });
                Self::audit(&mut tx, ctx, "staff.updated", "staff", id, summary).await?;
                let row = Self::staff_row(&mut tx, "id", id).await?.ok_or(StoreError::NotFound("staff member"))?;
                tx.commit().await?;
                row.member()
            }

            pub(crate) async fn staff_credentials_op(&self, username: &str) -> Result<Option<StaffCredentials>> {
                let mut conn = self.read.acquire().await?;
                let Some(row) = Self::staff_row(&mut conn, "username", username).await? else {
                    return Ok(None);
                };
                Ok(Some(StaffCredentials { staff: row.member()?, program_id: row.program_id, password_hash: row.password_hash }))
            }

            pub(crate) async fn start_session_op(&self, staff_id: &str, now: jiff::Timestamp, ttl: jiff::SignedDuration) -> Result<IssuedSession> {
                let mut tx = self.begin_write().await?;
                let row = Self::staff_row(&mut tx, "id", staff_id).await?.ok_or(StoreError::NotFound("staff member"))?;
                if row.status != "active" {
                    return Err(StoreError::Conflict("the staff member is disabled".into()));
                }
                let g = keys::generate_session();
                let csrf = keys::random_token();
                let expires_at = now.checked_add(ttl).map_err(|e| StoreError::Invalid(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO staff_sessions (id, staff_id, program_id, secret_sha256, csrf_token, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&g.key_id)
                .bind(staff_id)
                .bind(&row.program_id)
                .bind(&g.secret_sha256)
                .bind(&csrf)
                .bind(micros(now))
                .bind(micros(expires_at))
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE staff SET last_login_at = $1 WHERE id = $2").bind(micros(now)).bind(staff_id).execute(&mut *tx).await?;
                let actor = Actor::Staff { staff_id: staff_id.to_owned(), role: crate::sql::parse_col("role", &row.role)? };
                Self::audit_raw(&mut tx, &row.program_id, &actor, now, "staff.signed_in", "staff", staff_id, serde_json::json!({"session": g.key_id})).await?;
                let row = Self::staff_row(&mut tx, "id", staff_id).await?.ok_or(StoreError::NotFound("staff member"))?;
                tx.commit().await?;
                Ok(IssuedSession { token: g.presented, csrf_token: csrf, expires_at, program_id: row.program_id.clone(), staff: row.member()? })
            }

            /// The live session row behind a presented token: (staff row, csrf).
            async fn live_session(
                conn: &mut <$db as sqlx::Database>::Connection,
                presented: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<(crate::sql::crm::StaffRow, String, String)>> {
                let Some((session_id, secret)) = keys::parse_session(presented) else {
                    return Ok(None);
                };
                let row: Option<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT staff_id, secret_sha256, csrf_token, expires_at, ended_at FROM staff_sessions WHERE id = $1",
                )
                .bind(&session_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((staff_id, sha, csrf, expires_at, ended_at)) = row else {
                    return Ok(None);
                };
                if ended_at.is_some() || expires_at <= micros(now) || !keys::verify(secret, &sha) {
                    return Ok(None);
                }
                match Self::staff_row(conn, "id", &staff_id).await? {
                    Some(staff) if staff.status == "active" => Ok(Some((staff, csrf, session_id))),
                    _ => Ok(None),
                }
            }

            pub(crate) async fn session_principal(&self, presented: &str, now: jiff::Timestamp) -> Result<Option<Principal>> {
                let mut conn = self.read.acquire().await?;
                let Some((staff, _, session_id)) = Self::live_session(&mut conn, presented, now).await? else {
                    return Ok(None);
                };
                Ok(Some(Principal {
                    role: crate::sql::parse_col("role", &staff.role)?,
                    program_id: staff.program_id,
                    key_id: session_id,
                    staff_id: Some(staff.id),
                }))
            }

            pub(crate) async fn session_csrf_op(&self, presented: &str, now: jiff::Timestamp) -> Result<Option<String>> {
                let mut conn = self.read.acquire().await?;
                Ok(Self::live_session(&mut conn, presented, now).await?.map(|(_, csrf, _)| csrf))
            }

            pub(crate) async fn end_session_op(&self, presented: &str, now: jiff::Timestamp) -> Result<()> {
                let Some((session_id, secret)) = keys::parse_session(presented) else {
                    return Ok(());
                };
                let mut tx = self.begin_write().await?;
                let row: Option<(String,)> = sqlx::query_as("SELECT secret_sha256 FROM staff_sessions WHERE id = $1")
                    .bind(&session_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if matches!(&row, Some((sha,)) if keys::verify(secret, sha)) {
                    sqlx::query("UPDATE staff_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
                        .bind(micros(now))
                        .bind(&session_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            /// A staff id named in a request must be a member of this program.
            async fn check_staff(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                field: &'static str,
                id: Option<&str>,
            ) -> Result<()> {
                let Some(id) = id else { return Ok(()) };
                let found: Option<(String,)> = sqlx::query_as("SELECT id FROM staff WHERE program_id = $1 AND id = $2")
                    .bind(program_id)
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                match found {
                    Some(_) => Ok(()),
                    None => Err(StoreError::InvalidField { field: field.into(), message: format!("no staff member {id} in this program") }),
                }
            }

            /// A ticket, order or campaign a record links to must be this program's.
            async fn check_link(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                table: &'static str,
                field: &'static str,
                id: Option<&str>,
            ) -> Result<()> {
                let Some(id) = id else { return Ok(()) };
                let sql = format!("SELECT id FROM {table} WHERE program_id = $1 AND id = $2");
                let found: Option<(String,)> = sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                match found {
                    Some(_) => Ok(()),
                    None => Err(StoreError::InvalidField { field: field.into(), message: format!("no {id} in this program") }),
                }
            }

            /// A customer named in a CRM record must exist in this program.
            async fn check_customer(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                id: &str,
            ) -> Result<String> {
                let found: Option<(String, Option<String>)> =
                    sqlx::query_as("SELECT id, TRIM(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) FROM customers WHERE program_id = $1 AND id = $2")
                        .bind(program_id)
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                match found {
                    Some((_, name)) => Ok(name.unwrap_or_default()),
                    None => Err(StoreError::NotFound("customer")),
                }
            }

            /// `check_customer` for a new record about the customer (ticket, order, task,
            /// interaction, feedback): an erased or merged record takes none — the survivor
            /// of a merge is the one to name.
            async fn check_open_customer(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                id: &str,
            ) -> Result<String> {
                let found: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT status, TRIM(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) FROM customers WHERE program_id = $1 AND id = $2",
                )
                .bind(program_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let (status, name) = found.ok_or(StoreError::NotFound("customer"))?;
                match status.parse::<vafa_core::customer::CustomerStatus>().map_err(StoreError::Corrupt)? {
                    closed @ (vafa_core::customer::CustomerStatus::Erased | vafa_core::customer::CustomerStatus::Merged) => {
                        Err(StoreError::CustomerClosed(closed.as_str()))
                    }
                    _ => Ok(name.unwrap_or_default()),
                }
            }

            // ---- settings ----

            async fn crm_settings_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str) -> Result<CrmSettings> {
                let row: Option<(String,)> = sqlx::query_as("SELECT settings FROM crm_settings WHERE program_id = $1")
                    .bind(program_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                match row {
                    Some((json,)) => decode(&json),
                    None => Ok(CrmSettings::default()),
                }
            }

            /// The settings and working calendar of a program.
            async fn calendar_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
            ) -> Result<(CrmSettings, vafa_core::crm::BusinessCalendar)> {
                let settings = Self::crm_settings_in(conn, program_id).await?;
                let (program, _) = Self::program_and_settings(conn, program_id).await?;
                let days: Vec<(String,)> = sqlx::query_as("SELECT day FROM holidays WHERE program_id = $1")
                    .bind(program_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let cal = crate::sql::crm::calendar(&settings, &days, &program.timezone)?;
                Ok((settings, cal))
            }

            pub(crate) async fn crm_settings_op(&self, program_id: &str) -> Result<CrmSettings> {
                let mut conn = self.read.acquire().await?;
                Self::program_and_settings(&mut conn, program_id).await?;
                Self::crm_settings_in(&mut conn, program_id).await
            }

            pub(crate) async fn set_crm_settings_op(&self, ctx: &Ctx, s: &CrmSettings) -> Result<CrmSettings> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO crm_settings (program_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (program_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(&ctx.program_id)
                .bind(encode(s)?)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "crm.settings_changed", "program", &ctx.program_id, serde_json::json!({"settings": s})).await?;
                tx.commit().await?;
                Ok(s.clone())
            }

            pub(crate) async fn display_settings_op(&self, program_id: &str) -> Result<DisplaySettings> {
                let row: Option<(String,)> = sqlx::query_as("SELECT settings FROM display_settings WHERE program_id = $1")
                    .bind(program_id)
                    .fetch_optional(&self.read)
                    .await?;
                match row {
                    Some((json,)) => decode(&json),
                    None => Ok(DisplaySettings { money_unit: MoneyUnit::Toman, calendar: None }),
                }
            }

            pub(crate) async fn set_display_settings_op(&self, ctx: &Ctx, s: &DisplaySettings) -> Result<DisplaySettings> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO display_settings (program_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (program_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(&ctx.program_id)
                .bind(encode(s)?)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "program.display_changed", "program", &ctx.program_id, serde_json::json!({"settings": s})).await?;
                tx.commit().await?;
                Ok(s.clone())
            }

            pub(crate) async fn holidays_op(&self, program_id: &str) -> Result<Vec<Holiday>> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT day, name FROM holidays WHERE program_id = $1 ORDER BY day")
                    .bind(program_id)
                    .fetch_all(&self.read)
                    .await?;
                rows.into_iter()
                    .map(|(day, name)| Ok(Holiday { day: crate::sql::parse_col("day", &day)?, name }))
                    .collect()
            }

            pub(crate) async fn set_holiday_op(&self, ctx: &Ctx, h: &Holiday) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO holidays (program_id, day, name) VALUES ($1, $2, $3) \
                     ON CONFLICT (program_id, day) DO UPDATE SET name = excluded.name",
                )
                .bind(&ctx.program_id)
                .bind(h.day.to_string())
                .bind(&h.name)
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "crm.holiday_set", "program", &ctx.program_id, serde_json::json!({"day": h.day.to_string(), "name": h.name})).await?;
                tx.commit().await?;
                Ok(())
            }

            pub(crate) async fn delete_holiday_op(&self, ctx: &Ctx, day: jiff::civil::Date) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query("DELETE FROM holidays WHERE program_id = $1 AND day = $2")
                    .bind(&ctx.program_id)
                    .bind(day.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound("holiday"));
                }
                Self::audit(&mut tx, ctx, "crm.holiday_removed", "program", &ctx.program_id, serde_json::json!({"day": day.to_string()})).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn templates_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
            ) -> Result<Vec<vafa_core::crm::ReplyTemplate>> {
                let own: Vec<(String, String, String)> =
                    sqlx::query_as("SELECT key, fa, en FROM reply_templates WHERE program_id = $1")
                        .bind(program_id)
                        .fetch_all(&mut *conn)
                        .await?;
                let mut all = vafa_core::crm::default_templates();
                for t in &mut all {
                    if let Some((_, fa, en)) = own.iter().find(|(k, _, _)| *k == t.key) {
                        t.fa = fa.clone();
                        t.en = en.clone();
                    }
                }
                Ok(all)
            }

            pub(crate) async fn reply_templates_op(&self, program_id: &str) -> Result<Vec<vafa_core::crm::ReplyTemplate>> {
                let mut conn = self.read.acquire().await?;
                Self::templates_in(&mut conn, program_id).await
            }

            pub(crate) async fn set_reply_template_op(&self, ctx: &Ctx, t: &vafa_core::crm::ReplyTemplate) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO reply_templates (program_id, key, fa, en, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (program_id, key) DO UPDATE SET fa = excluded.fa, en = excluded.en, updated_at = excluded.updated_at",
                )
                .bind(&ctx.program_id)
                .bind(&t.key)
                .bind(&t.fa)
                .bind(&t.en)
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                Self::audit(&mut tx, ctx, "crm.template_changed", "program", &ctx.program_id, serde_json::json!({"template": t})).await?;
                tx.commit().await?;
                Ok(())
            }

            // ---- interactions ----

            pub(crate) async fn record_interaction_op(&self, ctx: &Ctx, i: &NewInteraction) -> Result<Interaction> {
                let mut tx = self.begin_write().await?;
                Self::check_open_customer(&mut tx, &ctx.program_id, &i.customer_id).await?;
                let staff_id = i.staff_id.clone().or_else(|| ctx.actor.staff_id().map(str::to_owned));
                Self::check_staff(&mut tx, &ctx.program_id, "staff_id", staff_id.as_deref()).await?;
                Self::check_link(&mut tx, &ctx.program_id, "tickets", "ticket_id", i.ticket_id.as_deref()).await?;
                Self::check_link(&mut tx, &ctx.program_id, "orders", "order_id", i.order_id.as_deref()).await?;
                Self::check_link(&mut tx, &ctx.program_id, "campaigns", "campaign_id", i.campaign_id.as_deref()).await?;
                let id = new_id(ids::INTERACTION);
                sqlx::query(
                    "INSERT INTO interactions (id, program_id, customer_id, kind, direction, outcome, summary, staff_id, ticket_id, order_id, campaign_id, occurred_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(&i.customer_id)
                .bind(i.kind.as_str())
                .bind(i.direction.as_str())
                .bind(&i.outcome)
                .bind(&i.summary)
                .bind(&staff_id)
                .bind(&i.ticket_id)
                .bind(&i.order_id)
                .bind(&i.campaign_id)
                .bind(micros(i.occurred_at))
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                let sql = format!("SELECT {} FROM interactions WHERE id = $1", crate::sql::crm::INTERACTION_COLUMNS);
                let row: crate::sql::crm::InteractionRow = sqlx::query_as(&sql).bind(&id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            pub(crate) async fn customer_interactions_op(&self, program_id: &str, customer_id: &str, page: &PageRequest) -> Result<Page<Interaction>> {
                Self::check_customer(&mut *self.read.acquire().await?, program_id, customer_id).await?;
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM interactions WHERE program_id = ", crate::sql::crm::INTERACTION_COLUMNS));
                b.push_bind(program_id).push(" AND customer_id = ").push_bind(customer_id);
                if let Some(c) = &page.cursor {
                    b.push(" AND id < ").push_bind(c.clone());
                }
                let limit = page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<crate::sql::crm::InteractionRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                Ok(Page { items: rows.into_iter().map(TryInto::try_into).collect::<Result<_>>()?, next_cursor })
            }

            // ---- tasks and promises ----

            pub(crate) async fn create_task_op(&self, ctx: &Ctx, t: &NewTask) -> Result<Task> {
                let mut tx = self.begin_write().await?;
                let mut customer_name = String::new();
                if let Some(c) = &t.customer_id {
                    customer_name = Self::check_open_customer(&mut tx, &ctx.program_id, c).await?;
                }
                let assignee = t.assignee_id.clone().or_else(|| ctx.actor.staff_id().map(str::to_owned));
                Self::check_staff(&mut tx, &ctx.program_id, "assignee_id", assignee.as_deref()).await?;
                Self::check_link(&mut tx, &ctx.program_id, "tickets", "ticket_id", t.ticket_id.as_deref()).await?;
                let settings = Self::crm_settings_in(&mut tx, &ctx.program_id).await?;
                let lead = t.remind_before_minutes.unwrap_or(settings.reminder_minutes);
                let remind_at = t.due_at.saturating_sub(jiff::SignedDuration::from_mins(i64::from(lead))).unwrap_or(t.due_at);
                // A reminder already late is sent at once; none for a task already due.
                let remind_at = (t.due_at > ctx.now).then(|| remind_at.max(ctx.now));
                let id = new_id(ids::TASK);
                sqlx::query(
                    "INSERT INTO tasks (id, program_id, customer_id, kind, title, notes, assignee_id, ticket_id, due_at, remind_at, status, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)",
                )
                .bind(&id)
                .bind(&ctx.program_id)
                .bind(&t.customer_id)
                .bind(t.kind.as_str())
                .bind(&t.title)
                .bind(&t.notes)
                .bind(&assignee)
                .bind(&t.ticket_id)
                .bind(micros(t.due_at))
                .bind(remind_at.map(micros))
                .bind(ctx.actor.staff_id())
                .bind(micros(ctx.now))
                .execute(&mut *tx)
                .await?;
                if let Some(at) = remind_at {
                    // The reminder is for the member who owes the follow-up.
                    let staff_name: Option<(String,)> = match &assignee {
                        Some(a) => sqlx::query_as("SELECT name FROM staff WHERE program_id = $1 AND id = $2")
                            .bind(&ctx.program_id).bind(a).fetch_optional(&mut *tx).await?,
                        None => None,
                    };
                    let persian = Self::program_and_settings(&mut tx, &ctx.program_id).await?.0.locale.as_str() == "fa";
                    let staff_name = staff_name.map(|s| s.0).unwrap_or_else(|| if persian { "همکار" } else { "colleague" }.to_owned());
                    let vars = std::collections::BTreeMap::from([("staff_name", staff_name)]);
                    let message = Self::message_in(&mut tx, &ctx.program_id, "task_reminder", &customer_name, vars).await?;
                    let payload = serde_json::json!({
                        "task_id": id, "kind": t.kind.as_str(), "title": t.title, "due_at": t.due_at,
                        "assignee_id": assignee, "customer_id": t.customer_id, "customer_name": customer_name,
                        "message": message,
                    });
                    Self::enqueue(&mut tx, &ctx.program_id, "task.reminder", t.customer_id.as_deref(), "task", &id, payload, at, ctx.now).await?;
                }
                Self::audit(&mut tx, ctx, "task.created", "task", &id, serde_json::json!({"kind": t.kind.as_str(), "title": t.title})).await?;
                let task = Self::task_in(&mut tx, &ctx.program_id, &id, ctx.now).await?.ok_or(StoreError::NotFound("task"))?;
                tx.commit().await?;
                Ok(task)
            }

            async fn task_in(conn: &mut <$db as sqlx::Database>::Connection, program_id: &str, id: &str, now: jiff::Timestamp) -> Result<Option<Task>> {
                let sql = format!("SELECT {} FROM tasks WHERE program_id = $1 AND id = $2", crate::sql::crm::TASK_COLUMNS);
                let row: Option<crate::sql::crm::TaskRow> = sqlx::query_as(&sql).bind(program_id).bind(id).fetch_optional(&mut *conn).await?;
                row.map(|r| r.task(now)).transpose()
            }

            pub(crate) async fn get_task_op(&self, program_id: &str, id: &str, now: jiff::Timestamp) -> Result<Option<Task>> {
                let mut conn = self.read.acquire().await?;
                Self::task_in(&mut conn, program_id, id, now).await
            }

            pub(crate) async fn list_tasks_op(&self, program_id: &str, q: &TaskQuery, now: jiff::Timestamp) -> Result<Page<Task>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM tasks WHERE program_id = ", crate::sql::crm::TASK_COLUMNS));
                b.push_bind(program_id);
                if let Some(s) = q.status {
                    b.push(" AND status = ").push_bind(s.as_str());
                }
                if let Some(k) = q.kind {
                    b.push(" AND kind = ").push_bind(k.as_str());
                }
                if let Some(a) = &q.assignee_id {
                    b.push(" AND assignee_id = ").push_bind(a.clone());
                }
                if let Some(c) = &q.customer_id {
                    b.push(" AND customer_id = ").push_bind(c.clone());
                }
                if let Some(at) = q.overdue_at {
                    b.push(" AND status = 'open' AND due_at < ").push_bind(micros(at));
                }
                // Soonest due first; the cursor is (due_at, id).
                if let Some(c) = &q.page.cursor {
                    let (due, id) = crate::sql::crm::split_cursor(c)?;
                    b.push(" AND (due_at > ").push_bind(due).push(" OR (due_at = ").push_bind(due).push(" AND id > ").push_bind(id).push("))");
                }
                let limit = q.page.limit();
                b.push(" ORDER BY due_at, id LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<crate::sql::crm::TaskRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| format!("{}~{}", r.due_at, r.id));
                Ok(Page { items: rows.into_iter().map(|r| r.task(now)).collect::<Result<_>>()?, next_cursor })
            }

            pub(crate) async fn close_task_op(&self, ctx: &Ctx, id: &str, status: vafa_core::crm::TaskStatus, note: Option<&str>) -> Result<Task> {
                let mut tx = self.begin_write().await?;
                let task = Self::task_in(&mut tx, &ctx.program_id, id, ctx.now).await?.ok_or(StoreError::NotFound("task"))?;
                vafa_core::crm::TaskStatus::close(task.kind, task.status, status).map_err(StoreError::Conflict)?;
                let n = sqlx::query("UPDATE tasks SET status = $1, closed_at = $2, closed_by = $3, close_note = $4 WHERE id = $5 AND status = 'open'")
                    .bind(status.as_str())
                    .bind(micros(ctx.now))
                    .bind(ctx.actor.staff_id())
                    .bind(note)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::Conflict("the task is already closed".into()));
                }
                // A reminder not yet sent has nothing left to remind of.
                sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE subject_type = 'task' AND subject_id = $1 AND status = 'pending'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                Self::audit(&mut tx, ctx, "task.closed", "task", id, serde_json::json!({"status": status.as_str(), "note": note})).await?;
                let task = Self::task_in(&mut tx, &ctx.program_id, id, ctx.now).await?.ok_or(StoreError::NotFound("task"))?;
                tx.commit().await?;
                Ok(task)
            }

            // ---- the outbox writer ----

            /// A notification's text, from the program's template `key` in the program's
            /// language: `{"locale", "text"}`, or null when the template cannot be filled
            /// (a program's own template using a variable this event lacks). The data
            /// beside it stays complete, so a channel can still build its own message.
            async fn message_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                key: &str,
                customer_name: &str,
                mut vars: std::collections::BTreeMap<&'static str, String>,
            ) -> Result<serde_json::Value> {
                let (program, _) = Self::program_and_settings(conn, program_id).await?;
                let persian = program.locale.as_str() == "fa";
                let templates = Self::templates_in(conn, program_id).await?;
                let Some(t) = templates.iter().find(|t| t.key == key) else {
                    return Ok(serde_json::Value::Null);
                };
                // Without a name on file the message still reads politely: "مشتری عزیز",
                // "Dear customer".
                let name = match (customer_name.trim(), persian) {
                    ("", true) => "مشتری".to_owned(),
                    ("", false) => "customer".to_owned(),
                    (n, _) => n.to_owned(),
                };
                vars.insert("customer_name", name);
                vars.insert("program_name", program.name.clone());
                if persian {
                    for key in ["order_number", "ticket_number", "points"] {
                        // A number reads in Persian digits; a code with letters in it
                        // (`WEB-2024-A7`) stays as the receipt and the website print it.
                        if let Some(v) = vars.get_mut(key).filter(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b',')) {
                            *v = vafa_core::digits::to_persian_digits(v);
                        }
                    }
                }
                let body = if persian { &t.fa } else { &t.en };
                Ok(match vafa_core::crm::render(body, &vars) {
                    Ok(text) => serde_json::json!({"locale": if persian { "fa" } else { "en" }, "text": text}),
                    Err(_) => serde_json::Value::Null,
                })
            }

            /// Queue `event` for the log and for every active webhook that takes it, in the
            /// caller's transaction.
            #[allow(clippy::too_many_arguments)]
            async fn enqueue(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                event: &str,
                customer_id: Option<&str>,
                subject_type: &str,
                subject_id: &str,
                payload: serde_json::Value,
                available_at: jiff::Timestamp,
                now: jiff::Timestamp,
            ) -> Result<()> {
                let hooks: Vec<(String, String)> = sqlx::query_as("SELECT id, events FROM webhooks WHERE program_id = $1 AND status = 'active'")
                    .bind(program_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let mut destinations = vec!["log".to_owned()];
                for (id, events) in hooks {
                    let events: Vec<String> = decode(&events)?;
                    if events.is_empty() || events.iter().any(|e| e == event) {
                        destinations.push(id);
                    }
                }
                let body = serde_json::json!({"event": event, "program_id": program_id, "at": now, "data": payload}).to_string();
                for destination in destinations {
                    sqlx::query(
                        "INSERT INTO outbox (id, program_id, event, customer_id, subject_type, subject_id, destination, payload, status, attempts, available_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $10)",
                    )
                    .bind(new_id(ids::OUTBOX))
                    .bind(program_id)
                    .bind(event)
                    .bind(customer_id)
                    .bind(subject_type)
                    .bind(subject_id)
                    .bind(&destination)
                    .bind(&body)
                    .bind(micros(available_at))
                    .bind(micros(now))
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use crm_ops;

/// A `<micros>~<id>` cursor.
pub(crate) fn split_cursor(c: &str) -> Result<(i64, String), StoreError> {
    let bad = || StoreError::InvalidField {
        field: "cursor".into(),
        message: "not a cursor this list gave out".into(),
    };
    let (at, id) = c.split_once('~').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_owned()))
}
