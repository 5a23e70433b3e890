export * from './ports';
export * from './s3-server';
export * from './postgres';
export * from './sftp-server';
export * from './python';
export * from './moto';
export * from './process';
export * from './stack';
