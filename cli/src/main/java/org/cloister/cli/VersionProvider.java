package org.cloister.cli;

import picocli.CommandLine;

final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = CloisterCommand.class.getPackage().getImplementationVersion();
    return new String[] {"cloister " + (v == null ? "dev" : v)};
  }
}
