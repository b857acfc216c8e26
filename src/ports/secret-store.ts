/** Where the pipeline reads secrets (Key Vault in Azure and locally); values never leave this port. */
export interface SecretStore {
  getSecret(name: string): Promise<string>;
}
