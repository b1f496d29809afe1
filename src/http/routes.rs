//! The paths the server answers, parsed once per request into a `Route`.
//!
//! Command names are `service::command::CommandName`: they name operations, and `service`
//! may not import `http`, so the enum lives there and only its place in a path lives here.

use crate::service::command::CommandName;

/// Where webhooks deliver: the token is in the query.
pub const RECEIVE: &str = "/api/v3/webhook.receive";
/// Commands are `COMMAND_PREFIX` followed by their name.
pub const COMMAND_PREFIX: &str = "/api/v3/command/";
pub const HEALTH: &str = "/healthz";
pub const METRICS: &str = "/metrics";

/// What a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `webhook.receive`, at its own path or as a command.
    Receive,
    Health,
    Metrics,
    Command(CommandName),
    /// A command path with a name no command has: answered after the admin key is checked.
    UnknownCommand(&'a str),
    NotFound,
}

impl Route<'_> {
    pub fn parse(path: &str) -> Route<'_> {
        match path {
            RECEIVE => return Route::Receive,
            HEALTH => return Route::Health,
            METRICS => return Route::Metrics,
            _ => {}
        }
        match path.strip_prefix(COMMAND_PREFIX) {
            Some(RECEIVE_COMMAND) => Route::Receive,
            Some(name) => {
                CommandName::parse(name).map_or(Route::UnknownCommand(name), Route::Command)
            }
            None => Route::NotFound,
        }
    }
}

/// `webhook.receive` under the command prefix.
const RECEIVE_COMMAND: &str = "webhook.receive";

/// The path of a command.
pub fn command_path(name: CommandName) -> String {
    format!("{COMMAND_PREFIX}{}", name.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_to_their_routes() {
        assert_eq!(Route::parse("/api/v3/webhook.receive"), Route::Receive);
        assert_eq!(
            Route::parse("/api/v3/command/webhook.receive"),
            Route::Receive
        );
        assert_eq!(Route::parse("/healthz"), Route::Health);
        assert_eq!(Route::parse("/metrics"), Route::Metrics);
        assert_eq!(
            Route::parse("/api/v3/command/event.listen"),
            Route::Command(CommandName::EventListen)
        );
        assert_eq!(
            Route::parse("/api/v3/command/nope"),
            Route::UnknownCommand("nope")
        );
        assert_eq!(Route::parse("/api/v3/command"), Route::NotFound);
        for name in CommandName::ALL {
            assert_eq!(Route::parse(&command_path(name)), Route::Command(name));
        }
    }
}
