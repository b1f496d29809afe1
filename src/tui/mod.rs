//! The terminal dashboard.

pub async fn run(_opts: &crate::cli::Options) -> anyhow::Result<()> {
    anyhow::bail!("the dashboard is not built yet; use `hooktail serve`")
}
