//! `vafa staff create`: a person who signs in to the admin UI, made from the command line
//! (the first admin of a new program, before anyone can use the API's staff routes).

use anyhow::{bail, Context, Result};
use vafa_store::Store;

/// Create a staff member with the API's own checks; the password comes from the
/// environment so it is not left in the shell's history.
pub async fn create(
    store: &dyn Store,
    ctx: &vafa_store::Ctx,
    username: String,
    name: String,
    role: String,
    password_env: &str,
) -> Result<vafa_store::StaffMember> {
    let password = std::env::var(password_env)
        .with_context(|| format!("set the password in the environment variable {password_env}"))?;
    if store.get_program(&ctx.program_id).await?.is_none() {
        bail!("no program {}", ctx.program_id);
    }
    let input = vafa_server::api::staff::StaffInput {
        username,
        name,
        role,
        password,
    };
    let new = vafa_server::api::staff::new_staff(input)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    Ok(store.create_staff(ctx, &new).await?)
}
