package org.cloister.consortium.inference;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The public facts about a simulated study's model that the inference tier needs after the study:
 * written as {@value #FILE} into the consortium directory next to the published (encrypted)
 * artifacts. No weights, no data.
 *
 * @param studyId     the study
 * @param modelName   architecture in the model zoo
 * @param dimension   number of parameters
 * @param numFeatures features per row
 * @param numClasses  classes
 * @param simulationOnly whether the study's models come from a simulation with seeded noise (no
 *     privacy guarantee); absent counts as true (fail closed: study.json files predating the field
 *     were all written by simulations)
 */
public record PublishedStudy(@JsonProperty("study_id") String studyId,
                             @JsonProperty("model_name") String modelName,
                             @JsonProperty("dimension") long dimension,
                             @JsonProperty("num_features") int numFeatures,
                             @JsonProperty("num_classes") int numClasses,
                             @JsonProperty("simulation_only") Boolean simulationOnly) {
  public static final String FILE = "study.json";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT);

  /** True unless the study says explicitly that its models are not a simulation's. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isSimulationOnly() {
    return simulationOnly == null || simulationOnly;
  }

  public void write(Path consortiumDirectory) throws IOException {
    JSON.writeValue(consortiumDirectory.resolve(FILE).toFile(), this);
  }

  public static PublishedStudy read(Path consortiumDirectory) throws IOException {
    Path f = consortiumDirectory.resolve(FILE);
    if (!Files.isRegularFile(f)) {
      throw new IOException(f + " not found: is " + consortiumDirectory + " the consortium directory of a study run "
          + "with secure aggregation (./cloister simulate / demo write OUT/consortium)?");
    }
    return JSON.readValue(f.toFile(), PublishedStudy.class);
  }
}
