; Inno Setup 6 script for the Windows installer of Hạ tầng Desktop.
; Built by installer\build_windows.ps1 (which passes /DAppVersion=...) from installer\dist\hatang-desktop.
; Per-user install by default (commune laptops often have no administrator at hand), Start-menu
; entry, optional desktop icon, .htdb file association. Uninstall removes the program only: the
; user's databases, photos and the sample copy in %LOCALAPPDATA%\HaTangDesktop stay.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6B1E6F2A-4E3B-4C1D-9E55-48545344A001}
AppName=Hạ tầng Desktop
AppVersion={#AppVersion}
AppPublisher=Hạ tầng Desktop
DefaultDirName={autopf}\HaTangDesktop
DefaultGroupName=Hạ tầng Desktop
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=Output
OutputBaseFilename=HaTangDesktop-Setup-{#AppVersion}
SetupIconFile=build\hatang-desktop.ico
UninstallDisplayIcon={app}\hatang-desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Languages]
; Inno Setup ships no Vietnamese wizard text (Vietnamese.isl is an unofficial translation on
; jrsoftware.org): drop it into the compiler's Languages folder and add a line for it here.
Name: "en"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "dist\hatang-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Hạ tầng Desktop"; Filename: "{app}\hatang-desktop.exe"
Name: "{group}\{cm:UninstallProgram,Hạ tầng Desktop}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Hạ tầng Desktop"; Filename: "{app}\hatang-desktop.exe"; Tasks: desktopicon

[Registry]
; .htdb = a Hạ tầng survey database (SQLite). .db is left alone: other programs own it.
Root: HKA; Subkey: "Software\Classes\.htdb"; ValueType: string; ValueName: ""; ValueData: "HaTangDesktop.Database"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\HaTangDesktop.Database"; ValueType: string; ValueName: ""; ValueData: "Cơ sở dữ liệu Hạ tầng"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\HaTangDesktop.Database\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\hatang-desktop.exe,0"
Root: HKA; Subkey: "Software\Classes\HaTangDesktop.Database\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\hatang-desktop.exe"" ""%1"""

[Run]
Filename: "{app}\hatang-desktop.exe"; Description: "{cm:LaunchProgram,Hạ tầng Desktop}"; Flags: nowait postinstall skipifsilent
