export { runCli, type CliIo, type CliOptions } from './program';
export { collectDoctorReport, formatDoctorReport, type DoctorReport } from './commands/doctor';
