import type { MirrorUser } from './directory.js';

/**
 * Decides whether an Entra user belongs in the app's directory under the default policy:
 * a member (never a guest, never an `#EXT#` account), enabled, and not deleted.
 */
export function isUserInScope(user: MirrorUser | undefined): boolean {
  if (!user || user.deleted || !user.facts) return false;
  const { accountEnabled, userType, userPrincipalName } = user.facts;
  if (accountEnabled !== true) return false;
  if (userType !== 'Member') return false;
  if (userPrincipalName?.toUpperCase().includes('#EXT#')) return false;
  return true;
}
