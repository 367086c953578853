/** @module Identity — Django's rules for usernames and emails, as pure functions (shared with the import script). */

/** Django's UnicodeUsernameValidator: letters, digits and @ . + - _ only (checked after NFKC). */
export const USERNAME_PATTERN = /^[\p{L}\p{N}@.+_-]+$/u;

/** Django's AbstractBaseUser.normalize_username: NFKC, so full-width "ａｌｉｃｅ" is "alice". */
export function normalizeUsername(username: string): string {
  return username.normalize("NFKC");
}

/** The account's unique key: the NFKC username, lower-cased (usernames are unique case-insensitively). */
export function accountKey(username: string): string {
  return normalizeUsername(username).toLowerCase();
}

/** Django's BaseUserManager.normalize_email: the domain part is lower-cased, the local part kept. */
export function normalizeEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return at < 0 ? email : email.slice(0, at) + email.slice(at).toLowerCase();
}
