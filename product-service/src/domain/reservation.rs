//! A reservation's state, as stored: held or given back.

/// Whether a reservation still holds its stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationState {
    /// The stock is held.
    Reserved,
    /// The stock was given back.
    Released,
}

impl ReservationState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Released => "released",
        }
    }
}

impl TryFrom<String> for ReservationState {
    type Error = String;

    /// Parses the stored text; anything else is an error, never a default.
    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "reserved" => Ok(Self::Reserved),
            "released" => Ok(Self::Released),
            other => Err(format!("unknown reservation state {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReservationState;

    #[test]
    fn stored_states_round_trip_and_unknown_ones_are_errors() {
        for state in [ReservationState::Reserved, ReservationState::Released] {
            assert_eq!(
                ReservationState::try_from(state.as_str().to_owned()),
                Ok(state)
            );
        }
        assert!(ReservationState::try_from("void".to_owned()).is_err());
        assert!(ReservationState::try_from("Reserved".to_owned()).is_err());
    }
}
