// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations are plain strings here.
// Spec section 9.2 attribute by attribute, then what section 9.1 adds.
import { beforeAll, describe, expect, it } from 'vitest';
import { type Hcl, loadModule, resource, type TerraformModule } from './hcl.ts';

let mod: TerraformModule;
let db: Hcl;
let settings: Hcl;
let backup: Hcl;

beforeAll(async () => {
  mod = await loadModule();
  db = resource(mod, 'google_sql_database_instance', 'brainspark');
  settings = db.settings[0];
  backup = settings.backup_configuration[0];
});

describe('google_sql_database_instance "brainspark" (spec 9.2)', () => {
  it('is named brainspark-db', () => expect(db.name).toBe('brainspark-db'));
  it('runs POSTGRES_15', () => expect(db.database_version).toBe('POSTGRES_15'));
  it('lives in us-central1', () => expect(db.region).toBe('us-central1'));
  it('has one settings block with tier db-custom-2-4096', () => {
    expect(db.settings).toHaveLength(1);
    expect(settings.tier).toBe('db-custom-2-4096');
  });
  it('has backups enabled', () => expect(backup.enabled).toBe(true));
  it('starts backups at 03:00', () => expect(backup.start_time).toBe('03:00'));
  it('has point-in-time recovery enabled', () =>
    expect(backup.point_in_time_recovery_enabled).toBe(true));
  it('retains 30 backups', () => {
    expect(backup.backup_retention_settings).toHaveLength(1);
    expect(backup.backup_retention_settings[0].retained_backups).toBe(30);
    // 30 is a count of backups, not days.
    expect(backup.backup_retention_settings[0].retention_unit ?? 'COUNT').toBe('COUNT');
  });
  it('has no public IPv4 address', () =>
    expect(settings.ip_configuration[0].ipv4_enabled).toBe(false));
  it('is on the private network of google_compute_network.vpc', () => {
    expect(settings.ip_configuration[0].private_network).toBe('${google_compute_network.vpc.id}');
    expect(mod.resource.google_compute_network?.vpc).toBeDefined();
  });
  it('has its maintenance window on day 7 (Sunday) at hour 4', () => {
    expect(settings.maintenance_window).toHaveLength(1);
    expect(settings.maintenance_window[0].day).toBe(7);
    expect(settings.maintenance_window[0].hour).toBe(4);
  });
  it('has deletion protection', () => expect(db.deletion_protection).toBe(true));
  it('is created only after the private services peering exists', () =>
    expect(db.depends_on).toContain('${google_service_networking_connection.private_services}'));
});

describe('spec 9.1 additions', () => {
  it('keeps 7 days of transaction logs for point-in-time recovery', () =>
    expect(backup.transaction_log_retention_days).toBe(7));

  it('stores backups in a location variable defaulting to a multi-region', () => {
    expect(backup.location).toBe('${var.backup_location}');
    expect(mod.variable.backup_location?.[0].default).toBe('us');
  });

  it('has a cross-region read replica of the primary', () => {
    const replica = resource(mod, 'google_sql_database_instance', 'brainspark_replica');
    expect(replica.master_instance_name).toBe('${google_sql_database_instance.brainspark.name}');
    expect(replica.region).toBe('${var.replica_region}');
    expect(replica.database_version).toBe('POSTGRES_15');
    expect(replica.replica_configuration).toHaveLength(1);
    expect(replica.settings[0].tier).toBe('db-custom-2-4096');
    expect(replica.settings[0].ip_configuration[0].ipv4_enabled).toBe(false);
    expect(replica.settings[0].ip_configuration[0].private_network).toBe(
      '${google_compute_network.vpc.id}',
    );
    expect(replica.deletion_protection).toBe(true);
    // The replica must be in another region than the primary.
    const validation = mod.variable.replica_region?.[0].validation[0].condition as string;
    expect(validation).toContain('var.replica_region != "us-central1"');
    expect(mod.variable.replica_region?.[0].default).not.toBe('us-central1');
  });

  it('turns IAM database authentication on, on the primary and the replica', () => {
    for (const name of ['brainspark', 'brainspark_replica']) {
      const flags = resource(mod, 'google_sql_database_instance', name).settings[0].database_flags;
      expect(flags).toContainEqual({ name: 'cloudsql.iam_authentication', value: 'on' });
    }
  });

  it('requires TLS for every connection', () =>
    expect(settings.ip_configuration[0].ssl_mode).toBe('ENCRYPTED_ONLY'));
});

describe('database, users and the migrator secret', () => {
  it('creates the application database on the instance', () => {
    const database = resource(mod, 'google_sql_database', 'brainspark');
    expect(database.instance).toBe('${google_sql_database_instance.brainspark.name}');
    expect(database.name).toBe('${var.database_name}');
  });

  it('has an IAM user for the functions service account', () => {
    const user = resource(mod, 'google_sql_user', 'functions');
    expect(user.type).toBe('CLOUD_IAM_SERVICE_ACCOUNT');
    expect(user.instance).toBe('${google_sql_database_instance.brainspark.name}');
    expect(user.name).toBe(
      '${trimsuffix(google_service_account.functions.email, ".gserviceaccount.com")}',
    );
    expect(user.password).toBeUndefined();
  });

  it('has an IAM user for the job functions service account', () => {
    const user = resource(mod, 'google_sql_user', 'jobs');
    expect(user.type).toBe('CLOUD_IAM_SERVICE_ACCOUNT');
    expect(user.name).toBe(
      '${trimsuffix(google_service_account.jobs.email, ".gserviceaccount.com")}',
    );
  });

  it('has a password user for migrations whose password is generated and kept in Secret Manager', () => {
    const user = resource(mod, 'google_sql_user', 'migrator');
    expect(user.type).toBe('BUILT_IN');
    expect(user.password).toBe('${random_password.migrator.result}');
    expect(resource(mod, 'random_password', 'migrator').length).toBeGreaterThanOrEqual(32);
    const version = resource(mod, 'google_secret_manager_secret_version', 'migrator_password');
    expect(version.secret).toBe('${google_secret_manager_secret.migrator_password.id}');
    expect(version.secret_data).toBe('${random_password.migrator.result}');
  });

  it('outputs the migrator password only as a sensitive value', () => {
    const out = mod.output.migrator_password?.[0];
    expect(out.value).toBe('${random_password.migrator.result}');
    expect(out.sensitive).toBe(true);
  });
});
