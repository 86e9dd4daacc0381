//! Programs, API keys and the audit log.

macro_rules! key_ops {
    ($db:ty) => {
        impl SqlStore<$db> {
            /// Append an audit row inside the caller's transaction, so a change and its
            /// record commit or fail together.
            pub(crate) async fn audit<C: Db>(
                conn: &mut C,
                ctx: &Ctx,
                action: &str,
                target_type: &str,
                target_id: &str,
                summary: serde_json::Value,
            ) -> Result<()> {
                Self::audit_raw(conn, &ctx.program_id, &ctx.actor, ctx.now, action, target_type, target_id, summary).await
            }

            #[allow(clippy::too_many_arguments)]
            async fn audit_raw<C: Db>(
                conn: &mut C,
                program_id: &str,
                actor: &Actor,
                at: jiff::Timestamp,
                action: &str,
                target_type: &str,
                target_id: &str,
                summary: serde_json::Value,
            ) -> Result<()> {
                db::query(
                    "INSERT INTO audit_log (id, program_id, at, actor_kind, actor_id, actor_role, action, target_type, target_id, summary) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(new_id(ids::AUDIT))
                .bind(program_id)
                .bind(micros(at))
                .bind(actor.kind())
                .bind(actor.id())
                .bind(actor.role().map(|r| r.as_str()))
                .bind(action)
                .bind(target_type)
                .bind(target_id)
                .bind(summary.to_string())
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn insert_key(
                conn: &mut <$db as sqlx::Database>::Connection,
                program_id: &str,
                actor: &Actor,
                at: jiff::Timestamp,
                role: Role,
                name: Option<&str>,
            ) -> Result<IssuedKey> {
                let g = keys::generate();
                sqlx::query(
                    "INSERT INTO api_keys (id, program_id, name, role, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&g.key_id)
                .bind(program_id)
                .bind(name)
                .bind(role.as_str())
                .bind(&g.secret_sha256)
                .bind(micros(at))
                .execute(&mut *conn)
                .await?;
                let summary = serde_json::json!({ "role": role.as_str(), "name": name });
                Self::audit_raw(conn, program_id, actor, at, "api_key.created", "api_key", &g.key_id, summary).await?;
                Ok(IssuedKey { key_id: g.key_id, api_key: g.presented, role })
            }

            pub(crate) async fn create_program_op(&self, p: &NewProgram, sys: &SystemCtx) -> Result<(Program, IssuedKey)> {
                let program = Program {
                    id: new_id(ids::PROGRAM),
                    name: p.name.clone(),
                    currency: p.currency,
                    timezone: p.timezone.as_str().to_owned(),
                    locale: p.locale,
                    created_at: sys.now,
                };
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO programs (id, name, currency, timezone, locale, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&program.id)
                    .bind(&program.name)
                    .bind(program.currency.code())
                    .bind(&program.timezone)
                    .bind(program.locale.as_str())
                    .bind(micros(program.created_at))
                    .execute(&mut *tx)
                    .await?;
                let summary = serde_json::json!({ "name": program.name, "currency": program.currency.code() });
                Self::audit_raw(&mut tx, &program.id, &sys.actor, sys.now, "program.created", "program", &program.id, summary).await?;
                let key = Self::insert_key(&mut tx, &program.id, &sys.actor, sys.now, Role::Admin, Some("admin")).await?;
                tx.commit().await?;
                Ok((program, key))
            }

            pub(crate) async fn get_program_op(&self, program_id: &str) -> Result<Option<Program>> {
                // Programs never change once opened: one read serves the process (`cache`).
                if let Some(p) = self.programs.get(program_id) {
                    return Ok(Some(p));
                }
                let row: Option<ProgramRow> =
                    sqlx::query_as("SELECT id, name, currency, timezone, locale, created_at FROM programs WHERE id = $1")
                        .bind(program_id)
                        .fetch_optional(&self.read)
                        .await?;
                let program = row.map(Program::try_from).transpose()?;
                if let Some(p) = &program {
                    self.programs.remember(p);
                }
                Ok(program)
            }

            pub(crate) async fn create_api_key_op(&self, ctx: &Ctx, role: Role, name: Option<&str>) -> Result<IssuedKey> {
                let mut tx = self.begin_write().await?;
                let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM programs WHERE id = $1")
                    .bind(&ctx.program_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::NotFound("program"));
                }
                let key = Self::insert_key(&mut tx, &ctx.program_id, &ctx.actor, ctx.now, role, name).await?;
                tx.commit().await?;
                Ok(key)
            }

            async fn key_row<C: Db>(
                conn: &mut C,
                key_id: &str,
            ) -> Result<Option<ApiKeyRow>> {
                db::query("SELECT id, program_id, name, role, secret_sha256, created_at, revoked_at FROM api_keys WHERE id = $1")
                    .bind(key_id)
                    .fetch_optional(&mut *conn)
                    .await
            }

            pub(crate) async fn list_api_keys_op(&self, program_id: &str) -> Result<Vec<ApiKeyInfo>> {
                let rows: Vec<ApiKeyRow> = sqlx::query_as(
                    "SELECT id, program_id, name, role, secret_sha256, created_at, revoked_at FROM api_keys \
                     WHERE program_id = $1 ORDER BY id",
                )
                .bind(program_id)
                .fetch_all(&self.read)
                .await?;
                rows.into_iter().map(ApiKeyInfo::try_from).collect()
            }

            pub(crate) async fn revoke_api_key_op(&self, ctx: &Ctx, key_id: &str) -> Result<ApiKeyInfo> {
                let mut tx = self.begin_write().await?;
                let row = Self::key_row(&mut tx, key_id)
                    .await?
                    .filter(|r| r.program_id == ctx.program_id)
                    .ok_or(StoreError::NotFound("api key"))?;
                if row.revoked_at.is_some() {
                    return Err(StoreError::KeyRevoked);
                }
                sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND program_id = $3")
                    .bind(micros(ctx.now))
                    .bind(key_id)
                    .bind(&ctx.program_id)
                    .execute(&mut *tx)
                    .await?;
                Self::audit(&mut tx, ctx, "api_key.revoked", "api_key", key_id, serde_json::json!({})).await?;
                tx.commit().await?;
                let mut info = ApiKeyInfo::try_from(row)?;
                info.revoked_at = Some(ctx.now);
                Ok(info)
            }

            pub(crate) async fn authenticate_op(&self, presented: &str, now: jiff::Timestamp) -> Result<Option<Principal>> {
                if presented.starts_with("vs_") {
                    return self.session_principal(presented, now).await;
                }
                self.key_principal_op(presented).await
            }

            /// The principal of a live API key.
            async fn key_principal<C: Db>(conn: &mut C, presented: &str) -> Result<Option<Principal>> {
                let Some((key_id, secret)) = keys::parse(presented) else {
                    return Ok(None);
                };
                let Some(row) = Self::key_row(conn, &key_id).await? else {
                    return Ok(None);
                };
                if row.revoked_at.is_some() || !keys::verify(secret, &row.secret_sha256) {
                    return Ok(None);
                }
                Ok(Some(Principal {
                    role: row.role.parse().map_err(|e: vafa_core::auth::UnknownRole| StoreError::Corrupt(e.to_string()))?,
                    program_id: row.program_id,
                    key_id: row.id,
                    staff_id: None,
                }))
            }

            pub(crate) async fn list_audit_op(&self, program_id: &str, page: &PageRequest) -> Result<Page<AuditEntry>> {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, at, actor_kind, actor_id, actor_role, action, target_type, target_id, summary \
                     FROM audit_log WHERE program_id = ",
                );
                b.push_bind(program_id);
                if let Some(cursor) = &page.cursor {
                    b.push(" AND id < ").push_bind(cursor.clone());
                }
                let limit = page.limit();
                b.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let mut rows: Vec<AuditRow> = b.build_query_as().fetch_all(&self.read).await?;
                let next_cursor = page_cursor(&mut rows, limit, |r| r.id.clone());
                let items = rows.into_iter().map(AuditEntry::try_from).collect::<Result<_>>()?;
                Ok(Page { items, next_cursor })
            }
        }
    };
}
pub(crate) use key_ops;
