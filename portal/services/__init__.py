"""Operations that load, check rules, change state and flush; the caller commits."""
