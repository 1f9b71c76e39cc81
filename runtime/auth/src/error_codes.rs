//! Every error code stackr-auth answers with (`{"code": …, "message": …}`), spelled as
//! BetterAuth spells it, in one place: a handler names a constant, so a misspelt code fails to
//! compile instead of reaching clients as a new code. Messages stay with the handlers, since
//! BetterAuth words the same code differently by endpoint.

pub const ACCESS_TOKEN_NOT_FOUND: &str = "ACCESS_TOKEN_NOT_FOUND";
pub const ACCOUNT_NOT_FOUND: &str = "ACCOUNT_NOT_FOUND";
pub const ACCOUNT_TEMPORARILY_LOCKED: &str = "ACCOUNT_TEMPORARILY_LOCKED";
pub const BAD_REQUEST: &str = "BAD_REQUEST";
pub const BANNED_USER: &str = "BANNED_USER";
pub const BODY_MUST_BE_AN_OBJECT: &str = "BODY_MUST_BE_AN_OBJECT";
pub const CREDENTIAL_ACCOUNT_NOT_FOUND: &str = "CREDENTIAL_ACCOUNT_NOT_FOUND";
pub const CROSS_SITE_NAVIGATION_LOGIN_BLOCKED: &str = "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED";
pub const EMAIL_ALREADY_VERIFIED: &str = "EMAIL_ALREADY_VERIFIED";
pub const EMAIL_CAN_NOT_BE_UPDATED: &str = "EMAIL_CAN_NOT_BE_UPDATED";
pub const EMAIL_MISMATCH: &str = "EMAIL_MISMATCH";
pub const EMAIL_NOT_VERIFIED: &str = "EMAIL_NOT_VERIFIED";
pub const FAILED_TO_GET_ACCESS_TOKEN: &str = "FAILED_TO_GET_ACCESS_TOKEN";
pub const FAILED_TO_GET_USER_INFO: &str = "FAILED_TO_GET_USER_INFO";
pub const FAILED_TO_UNLINK_LAST_ACCOUNT: &str = "FAILED_TO_UNLINK_LAST_ACCOUNT";
pub const FIELD_NOT_ALLOWED: &str = "FIELD_NOT_ALLOWED";
pub const ID_TOKEN_NOT_SUPPORTED: &str = "ID_TOKEN_NOT_SUPPORTED";
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
pub const INVALID_BACKUP_CODE: &str = "INVALID_BACKUP_CODE";
pub const INVALID_CALLBACK_URL: &str = "INVALID_CALLBACK_URL";
pub const INVALID_CODE: &str = "INVALID_CODE";
pub const INVALID_EMAIL: &str = "INVALID_EMAIL";
pub const INVALID_EMAIL_OR_PASSWORD: &str = "INVALID_EMAIL_OR_PASSWORD";
pub const INVALID_ERROR_CALLBACK_URL: &str = "INVALID_ERROR_CALLBACK_URL";
pub const INVALID_NEW_USER_CALLBACK_URL: &str = "INVALID_NEW_USER_CALLBACK_URL";
pub const INVALID_ORIGIN: &str = "INVALID_ORIGIN";
pub const INVALID_PASSWORD: &str = "INVALID_PASSWORD";
pub const INVALID_REDIRECT_URL: &str = "INVALID_REDIRECT_URL";
pub const INVALID_ROLE_TYPE: &str = "INVALID_ROLE_TYPE";
pub const INVALID_SERVICE_CREDENTIAL: &str = "INVALID_SERVICE_CREDENTIAL";
pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
pub const INVALID_TWO_FACTOR_COOKIE: &str = "INVALID_TWO_FACTOR_COOKIE";
pub const INVALID_USER: &str = "INVALID_USER";
pub const METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED: &str =
    "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED";
pub const MISSING_FIELD: &str = "MISSING_FIELD";
pub const MISSING_OR_NULL_ORIGIN: &str = "MISSING_OR_NULL_ORIGIN";
pub const NO_DATA_TO_UPDATE: &str = "NO_DATA_TO_UPDATE";
pub const OTP_HAS_EXPIRED: &str = "OTP_HAS_EXPIRED";
pub const OTP_NOT_CONFIGURED: &str = "OTP_NOT_CONFIGURED";
pub const OTP_NOT_ENABLED: &str = "OTP_NOT_ENABLED";
/// stackr's own: a one-time code by mail after the password was set through a reset link.
pub const OTP_NOT_AFTER_PASSWORD_RESET: &str = "OTP_NOT_AFTER_PASSWORD_RESET";
pub const PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER: &str =
    "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER";
pub const PASSWORD_TOO_LONG: &str = "PASSWORD_TOO_LONG";
pub const PASSWORD_TOO_SHORT: &str = "PASSWORD_TOO_SHORT";
pub const PROVIDER_NOT_CONFIGURED: &str = "PROVIDER_NOT_CONFIGURED";
pub const PROVIDER_NOT_FOUND: &str = "PROVIDER_NOT_FOUND";
pub const RESET_PASSWORD_DISABLED: &str = "RESET_PASSWORD_DISABLED";
/// stackr's own: an admin with two-factor on, on an admin route (or one that hands out or drops
/// the second factor) from a session whose sign-in did not prove it.
pub const SECOND_FACTOR_REQUIRED: &str = "SECOND_FACTOR_REQUIRED";
pub const SESSION_NOT_FRESH: &str = "SESSION_NOT_FRESH";
pub const TOKEN_EXPIRED: &str = "TOKEN_EXPIRED";
pub const TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE: &str = "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE";
pub const TOTP_ALREADY_ENABLED: &str = "TOTP_ALREADY_ENABLED";
pub const TOTP_NOT_ENABLED: &str = "TOTP_NOT_ENABLED";
pub const TWO_FACTOR_NOT_ENABLED: &str = "TWO_FACTOR_NOT_ENABLED";
pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
pub const USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: &str = "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL";
pub const USER_ID_CANNOT_BE_UPDATED: &str = "USER_ID_CANNOT_BE_UPDATED";
pub const USER_ID_REQUIRED: &str = "USER_ID_REQUIRED";
pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
pub const VERIFICATION_EMAIL_NOT_ENABLED: &str = "VERIFICATION_EMAIL_NOT_ENABLED";
pub const YOU_ARE_NOT_ALLOWED_TO_BAN_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS";
pub const YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE: &str =
    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE";
pub const YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS";
pub const YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS";
pub const YOU_ARE_NOT_ALLOWED_TO_GET_USER: &str = "YOU_ARE_NOT_ALLOWED_TO_GET_USER";
pub const YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS: &str =
    "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS";
pub const YOU_ARE_NOT_ALLOWED_TO_LIST_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS";
pub const YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS: &str =
    "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS";
pub const YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS: &str =
    "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS";
pub const YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE: &str =
    "YOU_ARE_NOT_ALLOWED_TO_SET_A_NON_EXISTENT_ROLE_VALUE";
pub const YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL: &str = "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL";
pub const YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD: &str =
    "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD";
pub const YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS: &str = "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS";
pub const YOU_CANNOT_BAN_YOURSELF: &str = "YOU_CANNOT_BAN_YOURSELF";
pub const YOU_CANNOT_IMPERSONATE_ADMINS: &str = "YOU_CANNOT_IMPERSONATE_ADMINS";
pub const YOU_CANNOT_REMOVE_YOURSELF: &str = "YOU_CANNOT_REMOVE_YOURSELF";
/// stackr's own: a change-email link asked for before the account's password changed, all its
/// sessions were ended or its address changed (BetterAuth's links outlive all three).
pub const CREDENTIALS_CHANGED: &str = "CREDENTIALS_CHANGED";
/// stackr's own: BetterAuth lets an impersonating admin change how the user signs in.
pub const NOT_WHILE_IMPERSONATING: &str = "NOT_WHILE_IMPERSONATING";
/// stackr's own: a change-email confirmation link opened with a callbackURL while the instance
/// refuses change-email work (BetterAuth's 429s carry no code, and never come back to a link's
/// callback).
pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";
/// stackr's own: BetterAuth lets the last admin give up the role.
pub const YOU_CANNOT_TAKE_THE_ROLE_OF_THE_LAST_ADMIN: &str =
    "YOU_CANNOT_TAKE_THE_ROLE_OF_THE_LAST_ADMIN";
